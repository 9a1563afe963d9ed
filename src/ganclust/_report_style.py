"""The style sheet of ``report.html`` (inlined in the page: no external resource)."""

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2330; background: #f3f5f8; }
header { background: #1f3b5c; color: white; padding: 18px 32px 12px; }
header h1 { margin: 0 0 6px; font-size: 22px; font-weight: 600; }
nav a { color: #cfe3ff; margin-right: 4px; text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: white; border-radius: 8px; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12);
          margin: 16px 0; padding: 14px 22px 18px; }
h2 { margin: 0 0 10px; font-size: 18px; color: #1f3b5c; border-bottom: 1px solid #e1e6ee;
     padding-bottom: 6px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
h4 { font-size: 12px; margin: 4px 0; color: #5b6576; font-weight: 600; text-transform: uppercase;
     letter-spacing: 0.04em; }
table { border-collapse: collapse; margin: 4px 0 10px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e8ecf2; text-align: left;
         vertical-align: middle; }
th { background: #f0f3f8; font-weight: 600; }
table.facts td:first-child { color: #5b6576; white-space: nowrap; }
table.settings { font-size: 12px; width: 100%; }
table.settings tbody { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); }
table.settings thead { display: none; }
table.settings tr { display: flex; justify-content: space-between;
                    border-bottom: 1px solid #eef1f5; }
table.settings td { border: 0; padding: 2px 8px; }
table.settings td:first-child { color: #5b6576; }
table.confusion td, table.confusion th { text-align: right; padding: 2px 6px; }
table.confusion span.cell { display: inline-block; min-width: 36px; padding: 1px 4px;
                            border-radius: 3px; }
table.sizes td { padding: 2px 8px; }
div.track { width: 520px; background: #eef1f5; border-radius: 3px; height: 14px; }
span.bar { display: block; height: 14px; border-radius: 3px; }
div.cluster { border-top: 1px solid #e1e6ee; padding: 6px 0 8px; }
div.strips { display: flex; flex-wrap: wrap; gap: 8px 28px; }
div.thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
figure { margin: 0; text-align: center; }
figure img { display: block; width: 48px; height: auto; image-rendering: pixelated;
             border: 1px solid #d5dbe4; background: white; }
figcaption { font-size: 10px; color: #5b6576; }
p.ids { font-size: 10px; color: #7a8494; margin: 2px 0 0; max-width: 440px;
        overflow-wrap: anywhere; }
img.figure { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.warn { color: #a4161a; }
li.warn { margin: 4px 0; }
.ok { color: #2b7a3d; }
.none { color: #7a8494; font-style: italic; }
code { background: #f0f3f8; padding: 0 4px; border-radius: 3px; }
"""
