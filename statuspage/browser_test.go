package statuspage_test

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/statuspage"
)

// browserRequired names the variable that makes TestBrowser fail, rather
// than skip, without Chromium (CI sets it).
const browserRequired = "AUTHPOOL_BROWSER_REQUIRED"

// viewport is the browser window's size, and the screenshot's width.
const viewportWidth, viewportHeight = 1280, 800

// chromium returns the path of Debian's chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv(browserRequired) == "1" {
		t.Fatalf("no chromium on PATH (%v), and %s=1: install it with apt-get install chromium", err, browserRequired)
	}
	t.Skipf("no chromium on PATH: apt-get install chromium to run this test (%s=1 makes it fail instead)", browserRequired)
	return ""
}

// shown is what the browser rendered of a card.
type shown struct {
	ID, Badge, Status, Health, Clients string
	State                              string // the card's classes but "card"
	BadgeColor                         string // the badge's computed background
	Windows                            []shownWindow
}

type shownWindow struct {
	Key, Percent, Used, Times string
	Bars                      int     // bar elements in the window
	TrackPx, FillPx           float64 // rendered widths
	FillColor                 string  // computed fill
}

// readCards collects, from the rendered page, what a person sees of each
// card: its texts as displayed (innerText), its bars' rendered widths and
// colours.
const readCards = `[...document.querySelectorAll("article.card")].map(c => {
	const text = sel => { const e = c.querySelector(sel); return e ? e.innerText : ""; };
	const badge = c.querySelector(".badge");
	return {
		ID: c.dataset.id,
		Badge: badge.innerText,
		BadgeColor: getComputedStyle(badge).backgroundColor,
		State: [...c.classList].filter(x => x !== "card").join(" "),
		Status: text(".status"),
		Health: text(".health"),
		Clients: text(".clients"),
		Windows: [...c.querySelectorAll(".window")].map(w => {
			const bar = w.querySelector("svg.bar");
			const width = sel => bar ? bar.querySelector(sel).getBoundingClientRect().width : 0;
			return {
				Key: w.dataset.window,
				Percent: w.querySelector(".percent") ? w.querySelector(".percent").innerText : "",
				Used: w.querySelector(".used").innerText,
				Times: w.querySelector(".times").innerText,
				Bars: w.querySelectorAll("svg.bar").length,
				TrackPx: width(".track"),
				FillPx: width(".fill"),
				FillColor: bar ? getComputedStyle(bar.querySelector(".fill")).fill : "",
			};
		}),
	};
})`

// The colours of page.css that mark states and levels.
const (
	green = "rgb(45, 164, 78)"
	amber = "rgb(212, 167, 44)"
	red   = "rgb(207, 34, 46)"
	// orange is the bar between 90 % and 100 %.
	orange = "rgb(225, 111, 36)"
)

// TestBrowser opens the page of the fixed snapshot and callers in headless
// Chromium and checks what a person would see: one bar per budgeted window,
// filled to its share (to the pixel), the snapshot's numbers and times, the
// limited subscription marked in red, the callers' table (checkCallers),
// and no complaint in the console (a style the Content-Security-Policy
// refused would be one). With -update it saves the
// screenshot as testdata/statuspage.png, for docs/observability.md.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := time.Now()

	srv := httptest.NewServer(statuspage.New(&source{snap: fixedSnapshot()}, statuspage.WithRefresh(0),
		statuspage.WithCallers(callerSource{reports: fixedCallers()})))
	defer srv.Close()

	// The flags keep a machine without network from waiting on lookups;
	// TMPDIR keeps what the browser leaves (its singleton socket) in the
	// test's directory.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(viewportWidth, viewportHeight))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	consoleCtx, stopConsole := context.WithCancel(bctx)
	defer stopConsole()
	console := chromedp.Console(consoleCtx)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(viewportWidth, viewportHeight),
		chromedp.Navigate(srv.URL+"/status")); err != nil {
		t.Fatal(err)
	}
	cards, err := chromedp.Run(bctx, chromedp.Evaluate[[]shown](readCards))
	if err != nil {
		t.Fatal(err)
	}
	checkCallers(t, bctx)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	// The console's messages come in order: all the page's are before this.
	const endMark = "statuspage test: end of the page's messages"
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void](`console.log(`+"`"+endMark+"`"+`)`)); err != nil {
		t.Fatal(err)
	}
	for m, err := range console {
		if err != nil {
			t.Fatalf("reading the console: %v", err)
		}
		if m.Text == endMark {
			break
		}
		t.Errorf("console: %s", m)
	}

	want := []shown{
		{ID: "max-a", State: "active", Badge: "taking clients", BadgeColor: "rgb(218, 251, 225)", Health: "77", Clients: "1 of 4 active · 2 sessions",
			Windows: []shownWindow{
				bar("block", "40%", "$56.00 of $140.00 · 53 requests · 2.5M tokens",
					"10:00–15:00 UTC · resets 15:00 UTC (in 2h 15m) · does not run out at this rate", green),
				bar("week", "12%", "$120.00 of $1,000.00 · 118 requests · 5.4M tokens",
					"rolling 7 days · runs out Nov 27 20:11 UTC (in 1d 7h)", green),
			}},
		{ID: "max-b", State: "limited", Badge: "limited", BadgeColor: red, Status: "back 14:00 UTC (in 1h 15m) · 5-hour limit reached",
			Health: "12", Clients: "0 of 4 active",
			Windows: []shownWindow{
				bar("block", "104.5%", "$146.30 of $140.00 · 212 requests", "10:00–15:00 UTC · resets 15:00 UTC (in 2h 15m) · spent", red),
				bar("week", "66%", "$630.00 of $1,000.00 · 66% reported by Anthropic · 940 requests",
					"rolling 7 days · does not run out at this rate", green),
			}},
		{ID: "pro-c", State: "ineligible", Badge: "not taking clients", BadgeColor: "rgb(255, 248, 197)", Status: "full",
			Health: "11", Clients: "2 of 2 active",
			Windows: []shownWindow{
				bar("block", "85%", "$15.30 of $18.00 · 38 requests",
					"10:00–15:00 UTC · resets 15:00 UTC (in 2h 15m) · runs out 13:12 UTC (in 27m)", amber),
				bar("week", "93%", "$55.80 of $60.00 · 140 requests", "rolling 7 days · runs out 13:27 UTC (in 42m)", orange),
			}},
		{ID: "team-api", State: "disabled", Badge: "disabled", BadgeColor: "rgb(234, 238, 242)", Status: "until enabled · key rotated",
			Health: "90", Clients: "0 active",
			Windows: []shownWindow{
				{Key: "block", Used: "$0.00, no budget", Times: "10:00–15:00 UTC · resets 15:00 UTC (in 2h 15m)"},
				{Key: "week", Used: "$3.20, no budget · 4 requests", Times: "rolling 7 days"},
			}},
		{ID: "fallback", State: "fallback active", Badge: "taking clients", BadgeColor: "rgb(218, 251, 225)", Health: "95", Clients: "1 active",
			Windows: []shownWindow{
				bar("day", "35%", "$7.00 of $20.00 · 6 requests",
					"Nov 26 · resets Nov 27 00:00 UTC (in 11h 15m) · runs out 16:00 UTC (in 3h 15m)", green),
			}},
	}
	// A bar's fill is its share of the track, within a pixel.
	filled := map[string]float64{"max-a/block": 40, "max-a/week": 12, "max-b/block": 100, "max-b/week": 66,
		"pro-c/block": 85, "pro-c/week": 93, "fallback/day": 35}
	for ci := range cards {
		for wi := range cards[ci].Windows {
			w := &cards[ci].Windows[wi]
			key := cards[ci].ID + "/" + w.Key
			share, ok := filled[key]
			if w.Bars == 1 && w.TrackPx < 200 {
				t.Errorf("%s: the bar is %.1f px wide: too narrow to read", key, w.TrackPx)
			}
			if want := w.TrackPx * share / 100; ok && math.Abs(w.FillPx-want) > 1 {
				t.Errorf("%s: fill %.1f px of %.1f, want %.1f (%v%%)", key, w.FillPx, w.TrackPx, want, share)
			}
			w.TrackPx, w.FillPx = 0, 0 // compared above
		}
	}
	if diff := cmp.Diff(want, cards); diff != "" {
		t.Errorf("the page as shown (-want +got):\n%s", diff)
	}

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot: %v", err)
	}
	if w := img.Bounds().Dx(); w != viewportWidth {
		t.Errorf("the screenshot is %d px wide, want %d", w, viewportWidth)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "statuspage.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("Chromium: %v for start, page, checks and screenshot", time.Since(start).Round(time.Millisecond))
}

// bar is a budgeted window as shown: one bar of the given colour.
func bar(key, percent, used, times, color string) shownWindow {
	return shownWindow{Key: key, Percent: percent, Used: used, Times: times, Bars: 1, FillColor: color}
}

// shownCaller is what the browser rendered of a caller's row.
type shownCaller struct {
	ID, Cap, Percent, Times, Today, Week, Sessions, Last string
	Bars                                                 int
	TrackPx, FillPx                                      float64
	FillColor                                            string
}

// readCallers collects, from the rendered page, what a person sees of each
// row of the callers' table, and how far right the table reaches.
const readCallers = `({
	Right: document.querySelector("section.callers table").getBoundingClientRect().right,
	Rows: [...document.querySelectorAll("section.callers tr.caller")].map(r => {
		const text = sel => { const e = r.querySelector(sel); return e ? e.innerText : ""; };
		const bar = r.querySelector("svg.bar");
		const width = sel => bar ? bar.querySelector(sel).getBoundingClientRect().width : 0;
		return {
			ID: r.dataset.id, Cap: text(".capuse"), Percent: text(".percent"), Times: text(".times"),
			Today: text(".today"), Week: text(".week"), Sessions: text(".sessions"), Last: text(".last"),
			Bars: r.querySelectorAll("svg.bar").length, TrackPx: width(".track"), FillPx: width(".fill"),
			FillColor: bar ? getComputedStyle(bar.querySelector(".fill")).fill : "",
		};
	}),
})`

// checkCallers reads the callers' table of the page open in bctx: a row per
// caller with its texts as shown, a bar for each capped one filled to its
// share (to the pixel, at most full) in the colour of its level, and the
// table within the window's width.
func checkCallers(t *testing.T, bctx context.Context) {
	t.Helper()
	table, err := chromedp.Run(bctx, chromedp.Evaluate[struct {
		Right float64
		Rows  []shownCaller
	}](readCallers))
	if err != nil {
		t.Fatal(err)
	}
	if table.Right > viewportWidth {
		t.Errorf("the callers' table reaches %.0f px, past the window's %d", table.Right, viewportWidth)
	}
	filled := map[string]float64{"ci": 42.5, "nightly": 100, "ops-bot": 92}
	for i := range table.Rows {
		r := &table.Rows[i]
		if share, ok := filled[r.ID]; ok {
			if r.TrackPx < 200 {
				t.Errorf("%s: the bar is %.1f px wide: too narrow to read", r.ID, r.TrackPx)
			}
			if want := r.TrackPx * share / 100; math.Abs(r.FillPx-want) > 1 {
				t.Errorf("%s: fill %.1f px of %.1f, want %.1f (%v%%)", r.ID, r.FillPx, r.TrackPx, want, share)
			}
		}
		r.TrackPx, r.FillPx = 0, 0 // compared above
	}
	want := []shownCaller{
		{ID: "ci", Cap: "$8.50 of $20.00 in 5 hours", Percent: "42.5%", Times: "falls at 13:00 UTC (in 15m)",
			Today: "$8.50 · 14 requests", Week: "$31.25 · 40 requests", Sessions: "3", Last: "2m ago", Bars: 1, FillColor: green},
		{ID: "dana", Cap: "no cap", Today: "$0.00 · 0 requests", Week: "$0.80 · 2 requests", Sessions: "1", Last: "2d 3h ago"},
		{ID: "new-hire", Cap: "no cap", Today: "$0.00 · 0 requests", Week: "$0.00 · 0 requests", Sessions: "0", Last: "never"},
		{ID: "nightly", Cap: "$5.60 of $5.00 in 5 hours", Percent: "112%", Times: "frees up at 14:00 UTC (in 1h 15m)",
			Today: "$5.60 · 9 requests", Week: "$18.40 · 30 requests", Sessions: "1", Last: "35m ago", Bars: 1, FillColor: red},
		{ID: "ops-bot", Cap: "$9.20 of $10.00 in 24 hours", Percent: "92%", Times: "falls at Nov 27 09:00 UTC (in 20h 15m)",
			Today: "$6.10 · 120 requests", Week: "$41.00 · 700 requests", Sessions: "12", Last: "1m ago", Bars: 1, FillColor: orange},
	}
	if diff := cmp.Diff(want, table.Rows); diff != "" {
		t.Errorf("the callers' table as shown (-want +got):\n%s", diff)
	}
}
