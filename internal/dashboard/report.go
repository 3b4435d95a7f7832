package dashboard

import (
	"encoding/json"
	"html/template"
	"io"
	"time"

	"github.com/relutune/relutune/internal/studyview"
)

var reportTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="relutune tunectl report">
<title>{{.Study}} · relutune report</title>
<style>{{.Style}}</style>
<script>{{.ECharts}}</script>
<script>{{.App}}</script>
<script type="application/json" id="study-data">{{.Data}}</script>
</head>
<body data-page="report" data-study="{{.Study}}" data-trial="-1" data-live="false">
<header><span class="brand">relutune</span> / {{.Study}} <span class="generated">report written {{.Written}}</span></header>
<main id="main"><p class="loading">This report needs JavaScript to draw its charts.</p></main>
</body>
</html>
`))

// WriteReport writes one self-contained HTML file with the study's charts
// and tables: the study page of the dashboard with its data, its script,
// its style sheet and ECharts inlined, so it opens from disk, attached to a
// paper or a pull request, with nothing fetched.
func WriteReport(w io.Writer, v *studyview.Study, links Links, now time.Time) error {
	data, err := json.Marshal(studyResponse{Study: v, Links: links})
	if err != nil {
		return err
	}
	return reportTmpl.Execute(w, map[string]any{
		"Study": v.Overview.Study,
		// The files are ours and embedded; json.Marshal escapes <, > and &,
		// so the data cannot close its script element.
		"Style":   template.CSS(asset("style.css")),
		"ECharts": template.JS(asset("echarts/echarts.min.js")),
		"App":     template.JS(asset("app.js")),
		"Data":    template.JS(data),
		"Written": now.UTC().Format("2006-01-02 15:04 UTC"),
	})
}
