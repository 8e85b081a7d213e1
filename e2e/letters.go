package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	"safetybot"
	"safetybot/store"
)

// Principal is one generated enterprise with its principal.
type Principal struct {
	EnterpriseID int64
	CreditCode   string
	Township     string
	UserID       string
}

// GeneratedCode returns the i-th generated credit code: valid (its GB 32100
// check character computed), distinct for every i below 10^9.
func GeneratedCode(i int) string {
	first := fmt.Sprintf("91320581%09d", i)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// SeedPrincipals inserts n active enterprises (一般企业), each headed by its own
// principal <tag>-p<i>, spread over townships in turn, with multi-row INSERTs
// straight through the store's database handle: a 100,000-enterprise roster in
// seconds, for load tests and benchmarks. Enterprises are numbered from first,
// so several calls with different first values add up. The import path itself
// (roster.ApplyEnterprises) is tested and measured elsewhere.
func SeedPrincipals(ctx context.Context, st *store.Store, first, n int, tag string, townships []string) ([]Principal, error) {
	db := st.DB()
	now := time.Now().UTC()
	for _, t := range townships {
		if err := st.EnsureTownship(ctx, t); err != nil {
			return nil, err
		}
	}
	out := make([]Principal, n)
	for i := range out {
		k := first + i
		out[i] = Principal{CreditCode: GeneratedCode(k), Township: townships[k%len(townships)], UserID: fmt.Sprintf("%s-p%d", tag, k)}
	}
	const chunk = 1000
	insert := func(q string, cols int, rows int, arg func(i int) []any) error {
		for start := 0; start < rows; start += chunk {
			end := min(start+chunk, rows)
			var b strings.Builder
			b.WriteString(q)
			args := make([]any, 0, (end-start)*cols)
			ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString(ph)
				args = append(args, arg(i)...)
			}
			if _, err := db.ExecContext(ctx, db.Rebind(b.String()), args...); err != nil {
				return err
			}
		}
		return nil
	}
	err := insert(`INSERT INTO enterprises (credit_code, name, township, category, created_at, updated_at) VALUES `, 6, n, func(i int) []any {
		p := out[i]
		return []any{p.CreditCode, fmt.Sprintf("生成企业%06d", first+i), p.Township, safetybot.CategoryGeneral, now, now}
	})
	if err != nil {
		return nil, fmt.Errorf("insert enterprises: %w", err)
	}
	err = insert(`INSERT INTO people (userid, name, role, township, created_at, updated_at) VALUES `, 6, n, func(i int) []any {
		p := out[i]
		return []any{p.UserID, fmt.Sprintf("负责人%06d", first+i), string(safetybot.RolePrincipal), p.Township, now, now}
	})
	if err != nil {
		return nil, fmt.Errorf("insert people: %w", err)
	}
	// Link them: ids by credit code and userid, then the contacts.
	ent := map[string]int64{}
	person := map[string]int64{}
	var rows []struct {
		ID  int64  `db:"id"`
		Key string `db:"k"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT id, credit_code AS k FROM enterprises`); err != nil {
		return nil, err
	}
	for _, r := range rows {
		ent[r.Key] = r.ID
	}
	rows = rows[:0]
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT id, userid AS k FROM people WHERE userid LIKE ?`), tag+"-p%"); err != nil {
		return nil, err
	}
	for _, r := range rows {
		person[r.Key] = r.ID
	}
	for i := range out {
		out[i].EnterpriseID = ent[out[i].CreditCode]
	}
	err = insert(`INSERT INTO contacts (enterprise_id, person_id, role) VALUES `, 3, n, func(i int) []any {
		return []any{out[i].EnterpriseID, person[out[i].UserID], string(safetybot.ContactPrincipal)}
	})
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	return out, nil
}
