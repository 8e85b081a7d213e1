package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Cell is one typed value of a table.
type Cell struct {
	Kind  string // text, int, percent, date
	Text  string
	Int   int
	Float float64
	Time  time.Time
}

// Text is a text cell. It is always written as text, never as a formula.
func Text(s string) Cell { return Cell{Kind: "text", Text: s} }

// Int is an integer cell.
func Int(n int) Cell { return Cell{Kind: "int", Int: n} }

// Percent is a rate in [0,1] shown as a percentage.
func Percent(f float64) Cell { return Cell{Kind: "percent", Float: f} }

// Date is a date cell (zero time: empty).
func Date(t time.Time) Cell { return Cell{Kind: "date", Time: t} }

// String renders the cell for text formats.
func (c Cell) String() string {
	switch c.Kind {
	case "int":
		return strconv.Itoa(c.Int)
	case "percent":
		return strconv.FormatFloat(c.Float*100, 'f', 1, 64) + "%"
	case "date":
		if c.Time.IsZero() {
			return ""
		}
		return c.Time.Format("2006-01-02")
	}
	return c.Text
}

// Table is a named sheet of typed cells.
type Table struct {
	Name    string
	Headers []string
	Rows    [][]Cell
}

// Formats a report can be written in.
var Formats = []string{"table", "csv", "json", "xlsx"}

// Write writes tables (or v, for json) in the format.
func Write(w io.Writer, format string, v any, tables []Table) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "csv":
		return WriteCSV(w, tables)
	case "table", "":
		return WriteText(w, tables)
	case "xlsx":
		return WriteXLSX(w, tables)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteText writes aligned tables for a terminal.
func WriteText(w io.Writer, tables []Table) error {
	for ti, t := range tables {
		if ti > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n", t.Name)
		widths := make([]int, len(t.Headers))
		for i, h := range t.Headers {
			widths[i] = displayWidth(h)
		}
		for _, r := range t.Rows {
			for i, c := range r {
				widths[i] = max(widths[i], displayWidth(c.String()))
			}
		}
		line := func(cells []string) {
			for i, s := range cells {
				pad := widths[i] - displayWidth(s)
				if i > 0 {
					io.WriteString(w, "  ")
				}
				io.WriteString(w, s+strings.Repeat(" ", pad))
			}
			io.WriteString(w, "\n")
		}
		line(t.Headers)
		for _, r := range t.Rows {
			cells := make([]string, len(r))
			for i, c := range r {
				cells[i] = c.String()
			}
			line(cells)
		}
		if len(t.Rows) == 0 {
			fmt.Fprintln(w, "（无）")
		}
	}
	return nil
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
			(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// WriteCSV writes the tables one after another, a blank line between, with a
// UTF-8 BOM so Excel opens the Chinese text correctly. Cells that a spreadsheet
// would read as a formula are prefixed with an apostrophe.
func WriteCSV(w io.Writer, tables []Table) error {
	io.WriteString(w, "\uFEFF")
	cw := csv.NewWriter(w)
	for ti, t := range tables {
		if ti > 0 {
			cw.Write(nil)
		}
		if len(tables) > 1 {
			cw.Write([]string{t.Name})
		}
		cw.Write(t.Headers)
		for _, r := range t.Rows {
			rec := make([]string, len(r))
			for i, c := range r {
				rec[i] = c.String()
				if c.Kind == "text" {
					rec[i] = defuse(rec[i])
				}
			}
			cw.Write(rec)
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuse keeps a spreadsheet from evaluating user text as a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteXLSX writes one sheet per table: frozen header row, widths that fit
// Chinese text, dates as dates, rates as percentages, text always as text.
func WriteXLSX(w io.Writer, tables []Table) error {
	return writeWorkbook(w, tables)
}

func sheetName(s string, i int) string {
	s = strings.NewReplacer(":", "", "\\", "", "/", "", "?", "", "*", "", "[", "", "]", "").Replace(s)
	if s == "" {
		s = "Sheet" + strconv.Itoa(i+1)
	}
	for utf8.RuneCountInString(s) > 31 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
