package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// SpotCheckInput is one spot-check draw (S8).
type SpotCheckInput struct {
	Department string
	Township   string // "" for every township
	Percent    int    // 1–100
	Seed       int64
}

// SpotCheckResult reports a draw.
type SpotCheckResult struct {
	SpotCheck   store.SpotCheck
	Population  int // key units with a signed self-inspection in scope
	Assignments []store.SpotCheckAssignment
	Officials   []safetybot.Person
}

// SampleSpotCheck draws ceil(percent% of the units) reproducibly: every unit
// gets the rank SHA-256(seed, enterprise id) and the lowest ranks are drawn,
// in rank order. The same seed over the same units gives the same sample
// whatever order they come in, on every platform and Go version.
func SampleSpotCheck(units []store.SpotCheckUnit, percent int, seed int64) []store.SpotCheckUnit {
	if percent <= 0 || len(units) == 0 {
		return nil
	}
	n := (len(units)*min(percent, 100) + 99) / 100
	type ranked struct {
		rank [32]byte
		u    store.SpotCheckUnit
	}
	rs := make([]ranked, len(units))
	var buf [16]byte
	for i, u := range units {
		binary.BigEndian.PutUint64(buf[:8], uint64(seed))
		binary.BigEndian.PutUint64(buf[8:], uint64(u.EnterpriseID))
		rs[i] = ranked{rank: sha256.Sum256(buf[:]), u: u}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if c := slices.Compare(a.rank[:], b.rank[:]); c != 0 {
			return c
		}
		return int(a.u.EnterpriseID - b.u.EnterpriseID)
	})
	out := make([]store.SpotCheckUnit, n)
	for i := range out {
		out[i] = rs[i].u
	}
	return out
}

// RunSpotCheck draws the sample, assigns it round robin to the department's
// officials (ordered by userid) and, in one transaction, stores the draw and
// queues one card per official with their units.
func RunSpotCheck(ctx context.Context, st *store.Store, in SpotCheckInput) (SpotCheckResult, error) {
	var res SpotCheckResult
	in.Department, in.Township = strings.TrimSpace(in.Department), strings.TrimSpace(in.Township)
	switch {
	case in.Department == "":
		return res, safetybot.Errorf(safetybot.EINVALID, "请指定部门（--department）")
	case in.Percent < 1 || in.Percent > 100:
		return res, safetybot.Errorf(safetybot.EINVALID, "抽查比例应在 1 到 100 之间")
	}
	officials, err := st.DepartmentOfficials(ctx, in.Department)
	if err != nil {
		return res, err
	}
	if len(officials) == 0 {
		return res, safetybot.Errorf(safetybot.EINVALID, "部门“%s”没有登记干部，无法分派抽查", in.Department)
	}
	res.Officials = officials
	units, err := st.SpotCheckPopulation(ctx, in.Department, in.Township)
	if err != nil {
		return res, err
	}
	res.Population = len(units)
	if len(units) == 0 {
		return res, safetybot.Errorf(safetybot.EINVALID, "没有可抽查的重点单位（需为%s监管、自查已由负责人签字）", in.Department)
	}
	sample := SampleSpotCheck(units, in.Percent, in.Seed)
	for i, u := range sample {
		res.Assignments = append(res.Assignments, store.SpotCheckAssignment{EnterpriseID: u.EnterpriseID, Enterprise: u.Name,
			Township: u.Township, Official: officials[i%len(officials)].UserID})
	}
	res.SpotCheck = store.SpotCheck{Department: in.Department, Township: in.Township, Percent: in.Percent, Seed: in.Seed}
	err = st.InTx(ctx, func(ctx context.Context) error {
		if err := st.CreateSpotCheck(ctx, &res.SpotCheck, res.Assignments); err != nil {
			return err
		}
		for k, o := range officials {
			var names []string
			for _, a := range res.Assignments {
				if a.Official == o.UserID {
					names = append(names, a.Enterprise+"［"+a.Township+"］")
				}
			}
			if len(names) == 0 {
				continue
			}
			taskID := messages.SpotCheckTaskID(res.SpotCheck.ID, k)
			card := messages.SpotCheckCard(res.SpotCheck.ID, in.Department, names, taskID)
			body, err := json.Marshal(messages.Card(nil, card).Body)
			if err != nil {
				return err
			}
			if _, err := st.Enqueue(ctx, store.OutboxMessage{Batch: taskID, Recipients: []string{o.UserID}, Payload: body}); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// spotList answers the 查看名单 button of a spot-check card.
func (h *queries) spotList(ctx context.Context, req *Request) (messages.Reply, error) {
	return h.show(ctx, req, listTasks, moreState{})
}
