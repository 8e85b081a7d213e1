package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"text/tabwriter"

	"safetybot/handlers"
)

func init() {
	extraCommands = append(extraCommands, command{name: "spotcheck", summary: "draw key units with signed self-inspections for a department to spot-check (--department D --percent P [--township T] [--seed N]); the seed is printed", run: cmdSpotCheck})
}

func cmdSpotCheck(ctx context.Context, e *env, args []string) error {
	fs := flags("spotcheck --department D --percent P [--township T] [--seed N]",
		"Draw a reproducible random sample of the key units the department supervises whose self-inspection the principal signed,\n"+
			"assign them round robin to the department's officials and queue a card for each official; serve sends them.\n"+
			"The same seed over the same units draws the same sample.", e)
	dept := fs.String("department", "", "supervising department (required)")
	percent := fs.Int("percent", 0, "share of the units to draw, 1–100 (required)")
	township := fs.String("township", "", "limit to one township")
	seed := fs.Int64("seed", 0, "random seed (default: a new one, printed)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dept == "" || *percent == 0 {
		return usageError{"--department and --percent are required"}
	}
	if *percent < 1 || *percent > 100 {
		return usageError{fmt.Sprintf("--percent %d is not between 1 and 100", *percent)}
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		var b [8]byte
		rand.Read(b[:])
		*seed = int64(binary.BigEndian.Uint64(b[:]) >> 34) // a short number people can retype
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	s, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	res, err := handlers.RunSpotCheck(ctx, s, handlers.SpotCheckInput{Department: *dept, Township: *township, Percent: *percent, Seed: *seed})
	if err != nil {
		return err
	}
	where := "all townships"
	if *township != "" {
		where = *township
	}
	fmt.Fprintf(e.stdout, "spot check %d: %s, %s: %d%% of %d key units with a signed self-inspection = %d drawn\n",
		res.SpotCheck.ID, *dept, where, *percent, res.Population, len(res.Assignments))
	fmt.Fprintf(e.stdout, "seed %d (run again with --seed %d to draw the same sample)\n", *seed, *seed)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tenterprise\ttownship\tofficial")
	for i, a := range res.Assignments {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, a.Enterprise, a.Township, a.Official)
	}
	tw.Flush()
	n := min(len(res.Officials), len(res.Assignments))
	fmt.Fprintf(e.stdout, "cards queued for %d officials; serve sends them\n", n)
	return nil
}
