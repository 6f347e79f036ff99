package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// row is what one size measured.
type row struct {
	Store               string  // sqlite or postgres
	Samples             int     // the registry's size when the server started
	FillAdded           int     // samples the fill added to reach Samples
	FillSeconds         float64 // the fill, in process: open, ingest, close
	StartupSeconds      float64 // exec to /readyz 200, first start after the fill (full log check)
	RestartSeconds      float64 // the same, the next start (checked from the watermark)
	RESTSamplesPerSec   float64
	MixRequested        int // half the registry as filled
	MixSize             int
	MixSeconds          float64
	MixPeakRSSMiB       float64 // the server's VmHWM during the build; NaN if not measured
	ExportSamplesPerSec float64
	ExportMBPerSec      float64
	LineageP50ms        float64
	LineageP99ms        float64
	StoredAfter         int // samples stored after the REST ingest
	BytesPerSample      float64
}

// FillSamplesPerSec is the fill's rate.
func (r row) FillSamplesPerSec() float64 {
	if r.FillSeconds <= 0 {
		return 0
	}
	return float64(r.FillAdded) / r.FillSeconds
}

func (r row) summary() string {
	return fmt.Sprintf("fill %.0f/s, REST %.0f/s, mix %d in %.2fs, export %.0f/s, lineage p99 %.2f ms, start-up %.2fs, %.0f bytes/sample",
		r.FillSamplesPerSec(), r.RESTSamplesPerSec, r.MixSize, r.MixSeconds, r.ExportSamplesPerSec, r.LineageP99ms, r.StartupSeconds, r.BytesPerSample)
}

// column is one CSV column: its header and how a row writes and reads it.
type column struct {
	name string
	get  func(r *row) string
	set  func(r *row, s string) error
}

func intCol(name string, f func(r *row) *int) column {
	return column{name: name,
		get: func(r *row) string { return strconv.Itoa(*f(r)) },
		set: func(r *row, s string) (err error) { *f(r), err = strconv.Atoi(s); return err }}
}

func floatCol(name string, f func(r *row) *float64) column {
	return column{name: name,
		get: func(r *row) string { return strconv.FormatFloat(*f(r), 'g', 6, 64) },
		set: func(r *row, s string) (err error) { *f(r), err = strconv.ParseFloat(s, 64); return err }}
}

// columns are the CSV's columns, in order.
var columns = []column{
	{name: "store", get: func(r *row) string { return r.Store }, set: func(r *row, s string) error { r.Store = s; return nil }},
	intCol("samples", func(r *row) *int { return &r.Samples }),
	intCol("fill_added", func(r *row) *int { return &r.FillAdded }),
	floatCol("fill_s", func(r *row) *float64 { return &r.FillSeconds }),
	floatCol("startup_s", func(r *row) *float64 { return &r.StartupSeconds }),
	floatCol("restart_s", func(r *row) *float64 { return &r.RestartSeconds }),
	floatCol("rest_samples_per_s", func(r *row) *float64 { return &r.RESTSamplesPerSec }),
	intCol("mix_requested", func(r *row) *int { return &r.MixRequested }),
	intCol("mix_size", func(r *row) *int { return &r.MixSize }),
	floatCol("mix_s", func(r *row) *float64 { return &r.MixSeconds }),
	floatCol("mix_peak_rss_mib", func(r *row) *float64 { return &r.MixPeakRSSMiB }),
	floatCol("export_samples_per_s", func(r *row) *float64 { return &r.ExportSamplesPerSec }),
	floatCol("export_mb_per_s", func(r *row) *float64 { return &r.ExportMBPerSec }),
	floatCol("lineage_p50_ms", func(r *row) *float64 { return &r.LineageP50ms }),
	floatCol("lineage_p99_ms", func(r *row) *float64 { return &r.LineageP99ms }),
	intCol("stored_after", func(r *row) *int { return &r.StoredAfter }),
	floatCol("bytes_per_sample", func(r *row) *float64 { return &r.BytesPerSample }),
}

func csvName(store string) string { return "growth-" + store + ".csv" }

// writeResults writes the rows of store to its CSV in dir and redraws the figure from every store's
// CSV there.
func writeResults(dir, store string, rows []row) error {
	path := filepath.Join(dir, csvName(store))
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = writeCSV(f, rows)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return drawFigure(dir)
}

func writeCSV(w io.Writer, rows []row) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = c.name
	}
	cw.Write(header)
	for i := range rows {
		rec := make([]string, len(columns))
		for j, c := range columns {
			rec[j] = c.get(&rows[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// readCSV reads rows that writeCSV wrote; the columns are found by their headers.
func readCSV(r io.Reader) ([]row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("no header")
	}
	at := map[string]int{}
	for i, h := range recs[0] {
		at[h] = i
	}
	for _, c := range columns {
		if _, ok := at[c.name]; !ok {
			return nil, fmt.Errorf("no column %s", c.name)
		}
	}
	var out []row
	for _, rec := range recs[1:] {
		var r row
		for _, c := range columns {
			if err := c.set(&r, rec[at[c.name]]); err != nil {
				return nil, fmt.Errorf("column %s: %w", c.name, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// writeMarkdown prints the rows as a Markdown table, and what its columns mean.
func writeMarkdown(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| store | samples | fill s | fill samples/s | REST ingest samples/s | mix size | mix s | mix peak RSS MiB | export samples/s | export MB/s | lineage p50 ms | lineage p99 ms | start-up s | restart s | bytes/sample |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.0f | %.0f | %d | %.2f | %s | %.0f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f |\n",
			r.Store, r.Samples, r.FillSeconds, r.FillSamplesPerSec(), r.RESTSamplesPerSec, r.MixSize, r.MixSeconds,
			orDash(r.MixPeakRSSMiB, "%.0f"), r.ExportSamplesPerSec, r.ExportMBPerSec, r.LineageP50ms, r.LineageP99ms,
			r.StartupSeconds, r.RestartSeconds, r.BytesPerSample)
	}
	fmt.Fprintln(w)
	notes := []string{
		"samples: the registry's size when the server started; fill: growing it to that size in process through registry.Service.Ingest (batches of 10,000, server stopped), open to close.",
		"mix: POST /v1/mixes of half the registry as filled; mix peak RSS: the server process's peak resident set size during the build (VmHWM after writing 5 to /proc/PID/clear_refs), RSS, not the Go heap.",
		"export: GET /v1/mixes/{id}/export?format=jsonl of that mix, read whole.",
		"lineage: GET /v1/samples/{id}/lineage?direction=ancestors&max_depth=10 of chain tips (11 nodes each), one request at a time.",
		"REST ingest (after the mix, export and lineage): new ~120-word samples in batches to POST /v1/samples/batch, 2 requests in flight, on 127.0.0.1; they count in the next size.",
		"start-up: exec of registryd serve until /readyz answers 200, the first start after the fill (which checks the whole log when the fill added more than a quarter of it); restart: the next start (checked from the watermark).",
		"bytes/sample: SQLite database and WAL after the server stopped, or PostgreSQL's sum(pg_total_relation_size) over the schema's tables, divided by the samples then stored.",
	}
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func orDash(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// storesIn returns the stores whose CSV is in dir, sqlite first.
func storesIn(dir string) []string {
	var out []string
	for _, s := range []string{"sqlite", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, csvName(s))); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// readStore reads a store's CSV in dir.
func readStore(dir, store string) ([]row, error) {
	f, err := os.Open(filepath.Join(dir, csvName(store)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := readCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	for _, r := range rows {
		if !strings.EqualFold(r.Store, store) {
			return nil, fmt.Errorf("%s holds a row of store %q", f.Name(), r.Store)
		}
	}
	return rows, nil
}
