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

// panel is one chart of WriteSVG: a figure against the pool size.
type panel struct {
	title  string
	value  func(Summary) float64
	lo, hi float64 // the y axis
	target float64 // NaN: none
}

// The layout of WriteSVG's image, in pixels: a panel's plot area, the
// space around it, and the margins left of and above the plot areas.
const (
	chartW, chartH, chartGap = 420, 240, 30
	chartLeft, chartTop      = 60, 50
)

// WriteSVG writes results as an SVG image of six charts against the
// number of subscriptions, a line per policy, each point the mean over the
// seeds of a policy and size (Summarize): the share of requests served by
// subscriptions, client-visible 429s, fallback money, cache continuity,
// prepaid capacity left unused and gap reduction, with the gap target as a
// dashed line. It is plain SVG 1.1, written by hand: no dependency.
func WriteSVG(w io.Writer, title string, results []Result, t Targets) error {
	if len(results) == 0 {
		return fmt.Errorf("sim: svg: no results")
	}
	c := newChart(Summarize(results))
	c.header(title)
	for i, p := range panels(c.rows, t) {
		c.panel(i, p)
	}
	c.legend()
	_, err := w.Write(c.b.Bytes())
	return err
}

// panels are WriteSVG's charts; an axis reaches past its highest value
// (and its lowest, where values fall below 0).
func panels(rows []Summary, t Targets) []panel {
	maxOf := func(f func(Summary) float64, floor float64) float64 {
		m := floor
		for _, r := range rows {
			m = max(m, f(r))
		}
		return niceCeil(m)
	}
	minOf := func(f func(Summary) float64) float64 {
		m := 0.0
		for _, r := range rows {
			m = min(m, f(r))
		}
		if m == 0 {
			return 0
		}
		return -niceCeil(-m)
	}
	none := math.NaN()
	client429s := func(s Summary) float64 { return s.Client429s }
	fallback := func(s Summary) float64 { return s.FallbackUSD }
	unused := func(s Summary) float64 { return s.UnusedPrepaidUSD }
	gap := func(s Summary) float64 { return 100 * s.GapReduction }
	continuity := func(s Summary) float64 { return 100 * s.CacheContinuity }
	cLo := 100 - niceCeil(100-minOfAll(rows, continuity))
	return []panel{
		{"requests served by subscriptions (%)", func(s Summary) float64 { return 100 * s.SubscriptionShare }, 0, 100, none},
		{"client-visible 429s (requests refused)", client429s, 0, maxOf(client429s, 1), none},
		{"fallback ($)", fallback, 0, maxOf(fallback, 1), none},
		{"cache continuity (%)", continuity, cLo, 100, none},
		{"prepaid capacity unused ($)", unused, 0, maxOf(unused, 1), none},
		{"gap reduction (%)", gap, minOf(gap), maxOf(gap, 1), 100 * t.MinGapReduction},
	}
}

// minOfAll is the lowest value of f over rows.
func minOfAll(rows []Summary, f func(Summary) float64) float64 {
	m := math.Inf(1)
	for _, r := range rows {
		m = min(m, f(r))
	}
	return m
}

// chart is WriteSVG's image being written: the summaries, their pool
// sizes in order and their policies.
type chart struct {
	b     bytes.Buffer
	rows  []Summary
	sizes []int
	names []string
	width int
}

// panelRows is how many rows of two panels a chart has.
const panelRows = 3

func newChart(rows []Summary) *chart {
	c := &chart{rows: rows, width: 2*(chartW+chartLeft+chartGap) + chartGap}
	for _, r := range rows {
		if !slices.Contains(c.names, r.Policy) {
			c.names = append(c.names, r.Policy)
		}
		if !slices.Contains(c.sizes, r.Subscriptions) {
			c.sizes = append(c.sizes, r.Subscriptions)
		}
	}
	slices.Sort(c.sizes)
	return c
}

// header opens the image: its size, a white background and the title.
func (c *chart) header(title string) {
	height := chartTop + panelRows*(chartH+70) + 30 + 20*((len(c.names)+3)/4)
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		c.width, height, c.width, height)
	fmt.Fprintf(&c.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", c.width, height)
	fmt.Fprintf(&c.b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", chartGap, esc(title))
}

// xOf is the x of a pool size in a panel's plot area.
func (c *chart) xOf(size int) float64 {
	if len(c.sizes) == 1 {
		return chartW / 2
	}
	return float64(chartW) * float64(size-c.sizes[0]) / float64(c.sizes[len(c.sizes)-1]-c.sizes[0])
}

// panel writes the i-th panel (two to a row): its frame and axes, its
// target and a line per policy.
func (c *chart) panel(i int, p panel) {
	ox, oy := chartGap+chartLeft+(i%2)*(chartW+chartLeft+chartGap), chartTop+(i/2)*(chartH+70)
	yOf := func(v float64) float64 { return float64(chartH) * (1 - (min(max(v, p.lo), p.hi)-p.lo)/(p.hi-p.lo)) }
	b := &c.b
	fmt.Fprintf(b, `<g transform="translate(%d,%d)">`+"\n", ox, oy)
	fmt.Fprintf(b, `<text x="0" y="-8" font-weight="bold">%s</text>`+"\n", esc(p.title))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", chartW, chartH)
	for k := 0; k <= 4; k++ {
		v := p.lo + (p.hi-p.lo)*float64(k)/4
		y := yOf(v)
		fmt.Fprintf(b, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="-6" y="%.1f" text-anchor="end">%g</text>`+"\n",
			y, chartW, y, y+4, round(v))
	}
	for _, s := range c.sizes {
		x := c.xOf(s)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, chartH+16, s)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">subscriptions</text>`+"\n", chartW/2, chartH+32)
	if !math.IsNaN(p.target) {
		ty := yOf(p.target)
		fmt.Fprintf(b, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="6,4"/>`+"\n", ty, chartW, ty)
	}
	for j, name := range c.names {
		c.series(j, name, p, yOf)
	}
	b.WriteString("</g>\n")
}

// series writes policy name's line in a panel, the j-th colour, with a dot
// at each pool size.
func (c *chart) series(j int, name string, p panel, yOf func(float64) float64) {
	var pts [][2]float64
	for _, r := range c.rows {
		if r.Policy == name {
			pts = append(pts, [2]float64{c.xOf(r.Subscriptions), yOf(p.value(r))})
		}
	}
	colour := palette[j%len(palette)]
	fmt.Fprintf(&c.b, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, colour)
	for k, pt := range pts {
		if k > 0 {
			c.b.WriteByte(' ')
		}
		fmt.Fprintf(&c.b, "%.1f,%.1f", pt[0], pt[1])
	}
	c.b.WriteString("\"/>\n")
	for _, pt := range pts {
		fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", pt[0], pt[1], colour)
	}
}

// legend writes the policies' colours, four to a row, and closes the image.
func (c *chart) legend() {
	ly := chartTop + panelRows*(chartH+70) + 10
	for j, name := range c.names {
		x, y := chartGap+chartLeft+(j%4)*220, ly+20*(j/4)
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y, x+24, y, palette[j%len(palette)], x+30, y+4, esc(name))
	}
	fmt.Fprintf(&c.b, `<text x="%d" y="%d" fill="#555">dashed: target</text>`+"\n", c.width-chartGap-100, ly+4)
	c.b.WriteString("</svg>\n")
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
