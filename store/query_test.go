package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

// TestKeysetPagesAcrossChunks pages lists whose matches are sparse among
// more candidates than one chunk: every match comes once, in order, and the
// last page says the list ended.
func TestKeysetPagesAcrossChunks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 700
		var wantEnt, wantHz []string
		for i := 1; i <= n; i++ {
			prefix := fmt.Sprintf("91320581MA1KP%04d", i)
			e := &safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)), Name: fmt.Sprintf("企业%03d", n+1-i),
				Township: []string{"青石镇", "白沙镇"}[i%2], Category: safetybot.CategoryGeneral}
			if err := s.CreateEnterprise(ctx, e); err != nil {
				t.Fatal(err)
			}
			last, deadline := "2026-01-01", "2026-08-01"
			if i%37 == 0 {
				last = "2020-01-01"
				if e.Township == "青石镇" {
					wantEnt = append(wantEnt, e.Name)
				}
			}
			if i%29 == 0 {
				deadline = "2026-07-01"
				if e.Township == "青石镇" {
					wantHz = append(wantHz, fmt.Sprintf("隐患%d", i))
				}
			}
			if _, err := s.DB().Exec(s.DB().Rebind(`UPDATE enterprises SET last_inspected = ? WHERE id = ?`), last, e.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, updated_at)
				VALUES (?, '自查', ?, '一般', '整改中', ?, ?, 'x', ?)`), e.ID, fmt.Sprintf("隐患%d", i), deadline, s.Now(), s.Now()); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(wantEnt) // (township, name) order within 青石镇
		sc := store.Scope{Role: safetybot.RoleTownship, Township: "青石镇", UserID: "qs"}

		var got []string
		var after *store.Cursor
		for page := 0; ; page++ {
			rows, next, _, err := s.NotInspectedSince(ctx, sc, "2024-07-20", store.Page{After: after, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got = append(got, r.Name)
			}
			if next == nil {
				break
			}
			if page > 20 {
				t.Fatal("too many pages")
			}
			after = next
		}
		if !slices.Equal(got, wantEnt) {
			t.Fatalf("enterprises over the pages:\n%v\nwant\n%v", got, wantEnt)
		}

		got, after = nil, nil
		for page := 0; ; page++ {
			rows, next, _, err := s.OverdueHazards(ctx, sc, "2026-07-20", store.Page{After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got = append(got, r.Description)
			}
			if next == nil {
				break
			}
			if page > 20 {
				t.Fatal("too many pages")
			}
			after = next
		}
		if !slices.Equal(got, wantHz) {
			t.Fatalf("hazards over the pages:\n%v\nwant\n%v", got, wantHz)
		}
		if _, _, total, err := s.OverdueHazards(ctx, sc, "2026-07-20", store.Page{Limit: 2, Count: true}); err != nil || total != len(wantHz) {
			t.Fatalf("counted total %d (%v), want %d", total, err, len(wantHz))
		}
	})
}

// TestProgressSnapshotDoesNotWaitForARefresh: on Postgres, while one asker
// holds the refresh, another gets the snapshot as it was instead of waiting.
func TestProgressSnapshotDoesNotWaitForARefresh(t *testing.T) {
	s := storetest.New(t, "postgres")
	ctx := context.Background()
	prefix := "91320581MA1KP9001"
	if err := s.CreateEnterprise(ctx, &safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)),
		Name: "企业甲", Township: "青石镇", Category: safetybot.CategoryGeneral}); err != nil {
		t.Fatal(err)
	}
	office := store.Scope{Role: safetybot.RoleOffice, UserID: "of"}
	first, at, err := s.ProgressSnapshot(ctx, office, "2026-07-20", time.Hour)
	if err != nil || len(first) != 1 || first[0].Enterprises != 1 {
		t.Fatalf("first snapshot: %+v %v", first, err)
	}
	// Another asker is refreshing: it holds the meta row.
	tx, err := s.DB().Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE progress_snapshot_meta SET computed_at = computed_at WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, at2, err := s.ProgressSnapshot(cctx, office, "2026-07-20", 0)
	if err != nil || len(rows) != 1 || rows[0].Enterprises != 1 || at2.Sub(at).Abs() > time.Millisecond {
		t.Fatalf("while another refreshes: %+v at %v (first %v) %v; want the snapshot as it was, at once", rows, at2, at, err)
	}
}
