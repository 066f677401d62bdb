package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// A chart is an inline SVG of two series over time, each scaled to its own
// maximum and drawn server-side: no script, and it reads in dark mode too
// (currentColor and the accent).
type series struct {
	name   string
	values []float64
	max    string // the maximum, in words
}

const chartW, chartH = 600.0, 120.0

func drawChart(label string, times []time.Time, a, b series) template.HTML {
	if len(times) < 2 {
		return template.HTML(`<p class="muted">The chart starts after Hearth's first minute: reload in a moment.</p>`)
	}
	t0, t1 := times[0], times[len(times)-1]
	span := max(t1.Sub(t0).Seconds(), 1)
	line := func(s series) string {
		top := 0.0
		for _, v := range s.values {
			top = max(top, v)
		}
		top = max(top, 1)
		var pts strings.Builder
		for i, v := range s.values {
			x := chartW * times[i].Sub(t0).Seconds() / span
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, chartH-2-(chartH-4)*v/top)
		}
		return pts.String()
	}
	desc := fmt.Sprintf("%s over the last %s: %s (up to %s) and %s (up to %s)", label, spanWords(t1.Sub(t0)), a.name, a.max, b.name, b.max)
	return template.HTML(fmt.Sprintf(`<figure class="chart"><svg viewBox="0 0 600 120" role="img" aria-label="%s">`+
		`<line x1="0" y1="119" x2="600" y2="119" stroke="currentColor" stroke-opacity=".3"/>`+
		`<polyline fill="none" stroke="currentColor" stroke-width="2" points="%s"/>`+
		`<polyline class="second" fill="none" stroke-width="2" stroke-dasharray="5 3" points="%s"/></svg>`+
		`<figcaption class="muted">Last %s. Solid: %s (up to %s). Dashed: %s (up to %s).</figcaption></figure>`,
		template.HTMLEscapeString(desc), line(a), line(b), spanWords(t1.Sub(t0)),
		a.name, a.max, b.name, b.max))
}

func spanWords(d time.Duration) string {
	switch {
	case d < 90*time.Minute:
		return plural(max(1, int(d.Round(time.Minute)/time.Minute)), "minute")
	case d < 48*time.Hour:
		return plural(int(d.Round(time.Hour)/time.Hour), "hour")
	}
	return plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day")
}

// chart draws records and the data file's size over time.
func chart(samples []Sample) template.HTML {
	times := make([]time.Time, len(samples))
	recs, size := series{name: "records"}, series{name: "data file"}
	var maxR, maxB int64
	for i, s := range samples {
		times[i] = s.Time
		recs.values = append(recs.values, float64(s.Records))
		size.values = append(size.values, float64(s.FileBytes))
		maxR, maxB = max(maxR, int64(s.Records)), max(maxB, s.FileBytes)
	}
	recs.max, size.max = countWords(maxR), humanBytes(maxB)
	return drawChart("Records and storage", times, recs, size)
}

// activity draws the requests and firehose events of each interval.
func activity(samples []Sample) template.HTML {
	times := make([]time.Time, len(samples))
	req, ev := series{name: "requests"}, series{name: "firehose events"}
	var maxQ, maxE int64
	for i, s := range samples {
		times[i] = s.Time
		req.values = append(req.values, float64(s.Requests))
		ev.values = append(ev.values, float64(s.Events))
		maxQ, maxE = max(maxQ, s.Requests), max(maxE, s.Events)
	}
	req.max, ev.max = countWords(maxQ)+" a sample", countWords(maxE)+" a sample"
	return drawChart("Requests and firehose events", times, req, ev)
}
