package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotFile is the figure's file name in --out.
const plotFile = "growth.png"

// series is one line of a panel: a quantity of a row, drawn dashed unless it is a panel's first.
type series struct {
	label string // added to the store's name in the legend; "" for a panel's only series
	value func(r row) float64
}

// panel is one quantity against registry size.
type panel struct {
	title  string
	series []series
}

var panels = []panel{
	{"In-process fill (samples/s)", []series{{"", row.FillSamplesPerSec}}},
	{"REST batch ingest, 2 in flight (samples/s)", []series{{"", func(r row) float64 { return r.RESTSamplesPerSec }}}},
	{"Mix of half the registry (s)", []series{{"", func(r row) float64 { return r.MixSeconds }}}},
	{"Server peak RSS during the mix (MiB; RSS, not Go heap)", []series{{"", func(r row) float64 { return r.MixPeakRSSMiB }}}},
	{"Export of the mix as JSON Lines (samples/s)", []series{{"", func(r row) float64 { return r.ExportSamplesPerSec }}}},
	{"Lineage at depth 10 (ms)", []series{{"p99", func(r row) float64 { return r.LineageP99ms }}, {"p50", func(r row) float64 { return r.LineageP50ms }}}},
	{"Exec to /readyz (s)", []series{{"after fill", func(r row) float64 { return r.StartupSeconds }}, {"restart", func(r row) float64 { return r.RestartSeconds }}}},
	{"Bytes on disk per sample", []series{{"", func(r row) float64 { return r.BytesPerSample }}}},
}

// storeStyle gives each store one colour and glyph in every panel.
var storeStyle = map[string]struct {
	color color.Color
	glyph draw.GlyphDrawer
}{
	"sqlite":   {color.RGBA{R: 57, G: 106, B: 177, A: 255}, draw.CircleGlyph{}},
	"postgres": {color.RGBA{R: 218, G: 124, B: 48, A: 255}, draw.SquareGlyph{}},
}

// drawFigure draws every panel from the CSVs of the stores in dir into dir/growth.png.
func drawFigure(dir string) error {
	byStore := map[string][]row{}
	var xs []float64
	for _, s := range storesIn(dir) {
		rows, err := readStore(dir, s)
		if err != nil {
			return err
		}
		byStore[s] = rows
		for _, r := range rows {
			xs = append(xs, float64(r.Samples))
		}
	}
	if len(xs) == 0 {
		return fmt.Errorf("no results in %s to draw", dir)
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)

	const cols = 2
	grid := make([][]*plot.Plot, (len(panels)+cols-1)/cols)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, pn := range panels {
		p, err := drawPanel(pn, byStore, xs)
		if err != nil {
			return err
		}
		grid[i/cols][i%cols] = p
	}
	img := vgimg.New(26*vg.Centimeter, 34*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	path := filepath.Join(dir, plotFile)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// drawPanel draws one quantity of every store against registry size on a log scale; the axes
// are set by hand, so that a single size or a quantity of zero still draws.
func drawPanel(pn panel, byStore map[string][]row, xs []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.X.Label.Text = "samples in the registry"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = sizeTicks(xs)
	p.X.Min, p.X.Max = xs[0]/1.5, xs[len(xs)-1]*1.5
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	top, entries := 0.0, 0
	for _, store := range []string{"sqlite", "postgres"} {
		rows := byStore[store]
		st := storeStyle[store]
		for k, s := range pn.series {
			var pts plotter.XYs
			for _, r := range rows {
				if v := s.value(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
					pts = append(pts, plotter.XY{X: float64(r.Samples), Y: v})
					top = max(top, v)
				}
			}
			if len(pts) == 0 {
				continue
			}
			l, sc, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = st.color, vg.Points(1.5)
			if k > 0 {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			sc.Color, sc.Shape = st.color, st.glyph
			p.Add(l, sc)
			label := store
			if s.label != "" {
				label += " " + s.label
			}
			p.Legend.Add(label, l, sc)
			entries++
		}
	}
	p.Y.Tick.Marker = plainTicks{}
	// Room above the lines for the legend, a line of it for each series drawn.
	p.Y.Min, p.Y.Max = 0, top*(1.15+0.1*float64(entries))
	if top == 0 {
		p.Y.Max = 1
	}
	return p, nil
}

// sizeTicks labels the x axis at the sizes measured.
func sizeTicks(xs []float64) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		ts := make([]plot.Tick, len(xs))
		for i, x := range xs {
			ts[i] = plot.Tick{Value: x, Label: shortCount(int(x))}
		}
		return ts
	})
}

// shortCount writes 100000 as 100k and 10000000 as 10M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}

// plainTicks are gonum's default ticks, labelled without trailing zeros (2500, not 2500.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(math.Round(ts[i].Value*1e6)/1e6, 'f', -1, 64)
		}
	}
	return ts
}
