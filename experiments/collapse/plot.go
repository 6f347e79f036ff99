package main

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// conditionStyle gives each direction one colour and dash pattern in every plot.
var conditionStyle = map[string]struct {
	color color.Color
	dash  []vg.Length
	glyph draw.GlyphDrawer
}{
	condReplace:      {color.RGBA{R: 204, G: 37, B: 41, A: 255}, nil, draw.CircleGlyph{}},
	condAccumulate:   {color.RGBA{R: 57, G: 106, B: 177, A: 255}, nil, draw.SquareGlyph{}},
	condDefault:      {color.RGBA{R: 62, G: 150, B: 81, A: 255}, nil, draw.TriangleGlyph{}},
	condSelectMTLD:   {color.RGBA{R: 218, G: 124, B: 48, A: 255}, []vg.Length{vg.Points(6), vg.Points(3)}, draw.PyramidGlyph{}},
	condSelectRandom: {color.RGBA{R: 107, G: 76, B: 154, A: 255}, []vg.Length{vg.Points(2), vg.Points(2)}, draw.CrossGlyph{}},
}

// metricPlot is one figure: a value per generation, one line per direction.
type metricPlot struct {
	file, title, ylabel string
	value               func(row) float64
	legendMiddle        bool // the legend at the right, halfway down, where the lines are not
}

var metricPlots = []metricPlot{
	{"perplexity.png", "Perplexity on held-out human text", "perplexity", func(r row) float64 { return r.Perplexity }, false},
	{"tails.png", "Tail kept: rare held-out bigrams the model has seen", "share of tail bigrams (train count 1-2)", func(r row) float64 { return r.Bigram }, true},
	{"tail_perplexity.png", "Perplexity on the tail tokens of held-out text", "tail perplexity", func(r row) float64 { return r.TailPerplexity }, false},
	{"mtld.png", "Lexical diversity of the answers (registry's MTLD)", "mean MTLD of the answers", func(r row) float64 { return r.OutMTLD }, false},
}

// writePlots draws the per-generation figures into dir.
func writePlots(res *result, dir string) error {
	for _, mp := range metricPlots {
		p := newPlot(mp.title, mp.ylabel)
		if mp.legendMiddle {
			p.Legend.Left = false
			p.Legend.YOffs = -2 * vg.Centimeter
		}
		for _, cond := range res.Config.Conditions {
			var xys plotter.XYs
			for _, r := range res.Rows {
				if r.Condition == cond {
					xys = append(xys, plotter.XY{X: float64(r.Gen), Y: mp.value(r)})
				}
			}
			if err := addLine(p, cond, xys); err != nil {
				return err
			}
		}
		if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, mp.file)); err != nil {
			return fmt.Errorf("plot %s: %w", mp.file, err)
		}
	}
	return lengthPlot(res, dir)
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "generation"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ts []plot.Tick
		for g := int(min); g <= int(max); g++ {
			ts = append(ts, plot.Tick{Value: float64(g), Label: fmt.Sprint(g)})
		}
		return ts
	})
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, cond string, xys plotter.XYs) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	st := conditionStyle[cond]
	l.Color, l.Dashes, l.Width = st.color, st.dash, vg.Points(1.5)
	s.Color, s.Shape = st.color, st.glyph
	p.Add(l, s)
	p.Legend.Add(cond, l, s)
	return nil
}

// lengthPlot draws each direction's median answer length per generation, with bars from the 10th
// to the 90th percentile, the directions side by side within a generation.
func lengthPlot(res *result, dir string) error {
	p := newPlot("Answer lengths: median, bars from 10th to 90th percentile", "tokens per answer")
	n := float64(len(res.Config.Conditions))
	for i, cond := range res.Config.Conditions {
		off := (float64(i) - (n-1)/2) * 0.12
		var pts struct {
			plotter.XYs
			plotter.YErrors
		}
		for _, r := range res.Rows {
			if r.Condition == cond {
				pts.XYs = append(pts.XYs, plotter.XY{X: float64(r.Gen) + off, Y: float64(r.OutP50)})
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{float64(r.OutP50 - r.OutP10), float64(r.OutP90 - r.OutP50)})
			}
		}
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return err
		}
		st := conditionStyle[cond]
		bars.Color, bars.Width = st.color, vg.Points(1.5)
		s, err := plotter.NewScatter(pts.XYs)
		if err != nil {
			return err
		}
		s.Color, s.Shape = st.color, st.glyph
		p.Add(bars, s)
		p.Legend.Add(cond, s)
	}
	top := 0
	for _, r := range res.Rows {
		top = max(top, r.OutP90)
	}
	p.Y.Min, p.Y.Max = 0, 1.4*float64(top) // room above the bars for the legend
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "lengths.png")); err != nil {
		return fmt.Errorf("plot lengths.png: %w", err)
	}
	return nil
}
