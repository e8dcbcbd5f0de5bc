"""The print stylesheet of the preview: an A4 sheet of ruled boxes like the paper forms.

Fonts are listed so that one family covers each script: Noto Sans (Latin, Vietnamese),
Noto Sans Thai (Thai) and DejaVu Sans as the fallback; the shaping itself is HarfBuzz's.
"""

FORM_CSS = """
@page { size: A4; margin: 9mm 9mm 11mm 9mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 7pt; } }
html { font-family: "Noto Sans", "Noto Sans Thai", "DejaVu Sans", sans-serif;
       font-size: 8.5pt; line-height: 1.3; color: #111; }
body { margin: 0; }
.notice { border: 1px dashed #888; background: #f4f4f4; padding: 2pt 5pt; margin: 0 0 4pt 0;
          font-size: 7.5pt; }
table.sheet { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.sheet + table.sheet { margin-top: -1px; }
td.box, th.box { border: 1px solid #222; vertical-align: top; padding: 3pt 4pt; }
.box-head { margin-bottom: 2pt; }
.box-no { font-weight: bold; margin-right: 3pt; }
.box-title { font-weight: bold; }
.box-hint { color: #555; font-size: 7pt; }
.data { font-weight: 600; }
.field { color: #444; font-size: 7.5pt; }
.line { margin: 0 0 1pt 0; }
td.title { text-align: center; }
.number { font-size: 11pt; letter-spacing: 0.5pt; }
.form-title { font-weight: bold; font-size: 9.5pt; margin-top: 5pt; }
.form-subtitle { font-size: 8pt; }
.form-name { font-weight: bold; font-size: 13pt; margin: 4pt 0; }
.qr { margin-top: 4pt; }
.qr img { width: 27mm; height: 27mm; }
.url { font-size: 6.5pt; word-break: break-all; }
table.items th.box { font-size: 7.5pt; font-weight: normal; text-align: left; }
table.items td.box { font-size: 8pt; }
table.items thead { display: table-header-group; }
table.items tr { page-break-inside: avoid; }
.criterion { font-size: 10pt; font-weight: bold; }
.tick { display: inline-block; width: 8pt; height: 8pt; border: 1px solid #222;
        text-align: center; line-height: 8pt; font-size: 7pt; font-weight: bold;
        margin-right: 3pt; vertical-align: middle; }
.indicator { display: inline-block; margin-right: 12pt; }
.statement { font-style: italic; }
.signature { margin-top: 6pt; border-top: 1px dotted #666; padding-top: 2pt; font-size: 7.5pt; }
.notes { margin-top: 5pt; font-size: 7.5pt; page-break-inside: avoid; }
.notes h2 { font-size: 8pt; margin: 0 0 2pt 0; }
.notes dl { margin: 0; }
.notes dt { font-weight: bold; float: left; width: 12mm; clear: left; }
.notes dd { margin: 0 0 1pt 12mm; }
"""
