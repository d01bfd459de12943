package sim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
)

// palette colours the policies of a chart, in order (then again).
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// panel is one chart of WriteSVG: a metric against the pool size.
type panel struct {
	title  string
	value  func(Result) float64
	lo, hi float64 // the y axis
	target float64
}

// WriteSVG writes results as an SVG image of four charts against the number
// of subscriptions, a line per policy: success rate, average health, cost
// spread and failover rate, each with its target as a dashed line. It is
// plain SVG 1.1, written by hand: no dependency.
func WriteSVG(w io.Writer, title string, results []Result, t Targets) error {
	if len(results) == 0 {
		return fmt.Errorf("sim: svg: no results")
	}
	maxOf := func(f func(Result) float64, floor float64) float64 {
		m := floor
		for _, r := range results {
			m = max(m, f(r))
		}
		return m
	}
	cv := func(r Result) float64 { return 100 * r.CostCV }
	fo := func(r Result) float64 { return 100 * r.FailoverRate }
	panels := []panel{
		{"success rate (%)", func(r Result) float64 { return 100 * r.SuccessRate }, 0, 100, 100 * t.MinSuccess},
		{"average health", func(r Result) float64 { return r.AvgHealth }, 0, 100, t.MinHealth},
		{"cost spread, CV (%)", cv, 0, niceCeil(maxOf(cv, 100*t.MaxCostCV*1.2)), 100 * t.MaxCostCV},
		{"failover rate (%)", fo, 0, niceCeil(maxOf(fo, 100*t.MaxFailover*1.2)), 100 * t.MaxFailover},
	}
	var sizes []int
	for _, r := range results {
		if !slices.Contains(sizes, r.Subscriptions) {
			sizes = append(sizes, r.Subscriptions)
		}
	}
	slices.Sort(sizes)
	names := policyNames(results)
	const pw, ph, gap = 420, 240, 30 // a panel's plot area, and the space around it
	const left, top = 60, 50
	width := 2*(pw+left+gap) + gap
	height := top + 2*(ph+70) + 30 + 20*((len(names)+3)/4)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", gap, esc(title))
	xOf := func(size int) float64 {
		if len(sizes) == 1 {
			return pw / 2
		}
		return float64(pw) * float64(size-sizes[0]) / float64(sizes[len(sizes)-1]-sizes[0])
	}
	for i, p := range panels {
		ox, oy := gap+left+(i%2)*(pw+left+gap), top+(i/2)*(ph+70)
		yOf := func(v float64) float64 { return float64(ph) * (1 - (min(max(v, p.lo), p.hi)-p.lo)/(p.hi-p.lo)) }
		fmt.Fprintf(&b, `<g transform="translate(%d,%d)">`+"\n", ox, oy)
		fmt.Fprintf(&b, `<text x="0" y="-8" font-weight="bold">%s</text>`+"\n", esc(p.title))
		fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", pw, ph)
		for k := 0; k <= 4; k++ {
			v := p.lo + (p.hi-p.lo)*float64(k)/4
			y := yOf(v)
			fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="-6" y="%.1f" text-anchor="end">%g</text>`+"\n",
				y, pw, y, y+4, round(v))
		}
		for _, s := range sizes {
			x := xOf(s)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, ph+16, s)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">subscriptions</text>`+"\n", pw/2, ph+32)
		ty := yOf(p.target)
		fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="6,4"/>`+"\n", ty, pw, ty)
		for j, name := range names {
			var pts [][2]float64
			for _, r := range results {
				if r.Policy == name {
					pts = append(pts, [2]float64{xOf(r.Subscriptions), yOf(p.value(r))})
				}
			}
			colour := palette[j%len(palette)]
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, colour)
			for k, pt := range pts {
				if k > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%.1f,%.1f", pt[0], pt[1])
			}
			b.WriteString("\"/>\n")
			for _, pt := range pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", pt[0], pt[1], colour)
			}
		}
		b.WriteString("</g>\n")
	}
	ly := top + 2*(ph+70) + 10
	for j, name := range names {
		x, y := gap+left+(j%4)*220, ly+20*(j/4)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y, x+24, y, palette[j%len(palette)], x+30, y+4, esc(name))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">dashed: target</text>`+"\n", width-gap-100, ly+4)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// esc escapes text for XML.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer: cannot fail
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// round rounds a tick label to 3 significant decimals.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }
