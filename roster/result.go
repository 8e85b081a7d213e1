package roster

import (
	"fmt"
	"sort"
	"strings"
)

// RowError is one fault in one row. Line is the line a user sees in Excel or a
// text editor (the header is line 1, the first data row line 2); Field is the
// English column key (credit_code, principal_userid …, empty for whole-row
// faults); Message is a short Chinese sentence for an office clerk.
type RowError struct {
	Line    int
	Field   string
	Message string
}

// String renders the error the way the import command and the admin page list it:
// "第 12 行: 统一社会信用代码校验位错误".
func (e RowError) String() string {
	return fmt.Sprintf("第 %d 行: %s", e.Line, e.Message)
}

// Result is what reading a roster file yields. Rows holds only the rows without
// errors, in file order; Errors lists every fault, ordered by line; Warnings are
// things the user should know that do not stop the import (ignored columns,
// ignored cells); Total counts the non-blank data rows in the file.
type Result[T any] struct {
	Rows     []T
	Errors   []RowError
	Warnings []string
	Total    int
}

// collector accumulates rows and errors while a file is read and decides at the
// end which rows are good.
type collector[T any] struct {
	res   *Result[T]
	lines []int // line of each entry in res.Rows
	bad   map[int]bool
}

func newCollector[T any]() *collector[T] {
	return &collector[T]{res: &Result[T]{}, bad: make(map[int]bool)}
}

func (c *collector[T]) fail(line int, field, format string, args ...any) {
	c.res.Errors = append(c.res.Errors, RowError{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	c.bad[line] = true
}

func (c *collector[T]) warn(format string, args ...any) {
	c.res.Warnings = append(c.res.Warnings, fmt.Sprintf(format, args...))
}

func (c *collector[T]) add(line int, row T) {
	c.res.Rows = append(c.res.Rows, row)
	c.lines = append(c.lines, line)
}

// finish drops the rows that have an error and orders the errors by line.
func (c *collector[T]) finish() *Result[T] {
	c.res.Rows = dropBad(c.res.Rows, c.lines, c.bad)
	sortErrors(c.res.Errors)
	return c.res
}

func dropBad[T any](rows []T, lines []int, bad map[int]bool) []T {
	kept := rows[:0]
	for i, row := range rows {
		if !bad[lines[i]] {
			kept = append(kept, row)
		}
	}
	return kept
}

func sortErrors(errs []RowError) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

// maxListed is how many other lines a duplicate message names.
const maxListed = 5

// otherLines names the lines of a duplicate other than self: "3、7" or, for a
// long list, "3、7、12、15、20 行等 40" so that the message stays short and a
// value repeated on every row costs no more than linear work.
func otherLines(lines []int, self int) string {
	var b strings.Builder
	n := 0
	for _, l := range lines {
		if l == self {
			continue
		}
		if n == maxListed {
			fmt.Fprintf(&b, " 行等 %d", len(lines)-1)
			break
		}
		if n > 0 {
			b.WriteString("、")
		}
		fmt.Fprint(&b, l)
		n++
	}
	return b.String()
}
