package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"safetybot/config"
	"safetybot/report"
	"safetybot/store"
)

// The campaign reports: summary and hazards go through the shared `report`
// command; photos and campaign write a file of their own (a zip, a document),
// so the report command is wrapped to hand them over.
func init() {
	reportKinds["summary"] = reportKind{summary: "campaign summary per township and city-wide: sign-off, self-inspection, hazards, closures, led and on-site inspections (--campaign C, --township T, --list)", flags: summaryReport}
	reportKinds["hazards"] = reportKind{summary: "hazard ledger (隐患台账): found/rectified/overdue by township and grade, the hazards, closures (--township T, --status S)", flags: hazardsReport}
	reportKinds["photos"] = reportKind{summary: "hazard photos as a zip: 镇街/企业名/隐患编号-状态/… with index.xlsx (--hazard ID | --township T, --out F.zip)", flags: ownFile}
	reportKinds["campaign"] = reportKind{summary: "the campaign summary due 15 September (--out F.docx|F.html)", flags: ownFile}
	for i, c := range extraCommands {
		if c.name == "report" {
			next := c.run
			extraCommands[i].run = func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					switch args[0] {
					case "photos":
						return cmdReportPhotos(ctx, e, args[1:])
					case "campaign":
						return cmdReportCampaign(ctx, e, args[1:])
					}
				}
				return next(ctx, e, args)
			}
			extraCommands[i].summary = "statistics: report KIND --format table|csv|json|xlsx [--out F] (KIND: " + strings.Join(reportNames(), ", ") + ")"
		}
	}
}

// builder is what a report kind's flags return.
type builder = func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error)

func ownFile(fs *flagSet) builder {
	return func(context.Context, *store.Store, config.Config) (any, []report.Table, error) {
		return nil, nil, fmt.Errorf("this report writes its own file")
	}
}

func summaryReport(fs *flagSet) builder {
	campaign := fs.String("campaign", "", "campaign name or id (default: the campaign running today, else the latest)")
	var townships listFlag
	fs.Var(&townships, "township", "limit to a township (repeatable)")
	list := fs.Bool("list", false, "with the lists behind every rate (always in xlsx)")
	return func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
		r, err := report.Summary(ctx, s, report.Options{Campaign: *campaign, Townships: townships, Location: c.Location})
		if err != nil {
			return nil, nil, err
		}
		lists := *list
		if f := fs.Lookup("format"); f != nil && f.Value.String() == "xlsx" {
			lists = true
		}
		return r, r.Tables(lists), nil
	}
}

func hazardsReport(fs *flagSet) builder {
	campaign := fs.String("campaign", "", "campaign name or id (default: the campaign running today, else the latest)")
	var townships, statuses listFlag
	fs.Var(&townships, "township", "limit to a township (repeatable)")
	fs.Var(&statuses, "status", "list only hazards in this status (repeatable): "+strings.Join(report.HazardStatuses, ", "))
	return func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
		r, err := report.Hazards(ctx, s, report.Options{Campaign: *campaign, Townships: townships, Location: c.Location}, statuses...)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Tables(), nil
	}
}

// openReportStore loads the configuration and opens the migrated store.
func openReportStore(ctx context.Context, e *env) (config.Config, *store.Store, error) {
	c, err := e.config()
	if err != nil {
		return c, nil, err
	}
	s, err := openStore(ctx, c)
	if err != nil {
		return c, nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return c, nil, err
	}
	return c, s, nil
}

// output opens --out, or standard output when it is not a terminal.
func output(e *env, out, what string) (io.Writer, func() error, error) {
	if out == "" {
		if f, ok := e.stdout.(*os.File); ok && isTerminal(f) {
			return nil, nil, usageError{what + " needs --out FILE"}
		}
		return e.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

func cmdReportPhotos(ctx context.Context, e *env, args []string) error {
	fs := flags("report photos", "Write the photos of hazards as a zip: 镇街/企业名/隐患编号-状态/… with index.xlsx.", e)
	hazard := fs.Int64("hazard", 0, "one hazard by id")
	var townships listFlag
	fs.Var(&townships, "township", "the hazards of a township (repeatable; default: every township)")
	out := fs.String("out", "", "zip file to write")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *hazard != 0 && len(townships) > 0 {
		return usageError{"give --hazard or --township, not both"}
	}
	c, s, err := openReportStore(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	w, done, err := output(e, *out, "a zip")
	if err != nil {
		return err
	}
	arc, err := report.Photos(ctx, s, c.DataDir, report.PhotoFilter{HazardID: *hazard, Townships: townships, Location: c.Location}, w)
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		if *out != "" {
			os.Remove(*out)
		}
		return err
	}
	fmt.Fprintf(e.stderr, "%d 项隐患，%d 张照片", arc.Hazards, arc.Photos)
	if arc.Missing > 0 {
		fmt.Fprintf(e.stderr, "，%d 张缺失（见 index.xlsx）", arc.Missing)
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "，已写入 %s", *out)
	}
	fmt.Fprintln(e.stderr)
	return nil
}

func cmdReportCampaign(ctx context.Context, e *env, args []string) error {
	fs := flags("report campaign", "Write the campaign summary (figures, township table, major-hazard cases with photos, closures) as Word or HTML.", e)
	campaign := fs.String("campaign", "", "campaign name or id (default: the campaign running today, else the latest)")
	out := fs.String("out", "", "file to write: .docx or .html")
	format := fs.String("format", "", "docx or html (default: from the --out extension)")
	office := fs.String("office", "市安委办", "who signs the summary")
	if err := parse(fs, args); err != nil {
		return err
	}
	f := *format
	if f == "" {
		switch strings.ToLower(filepath.Ext(*out)) {
		case ".docx":
			f = "docx"
		case ".html", ".htm":
			f = "html"
		default:
			return usageError{"--out must end in .docx or .html (or give --format)"}
		}
	}
	if f != "docx" && f != "html" {
		return usageError{fmt.Sprintf("--format %q is not docx or html", f)}
	}
	c, s, err := openReportStore(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := report.Campaign(ctx, s, report.CampaignOptions{Options: report.Options{Campaign: *campaign, Location: c.Location},
		DataDir: c.DataDir, Office: *office})
	if err != nil {
		return err
	}
	w, done, err := output(e, *out, "a "+f+" document")
	if err != nil {
		return err
	}
	err = r.Write(w, f)
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "written to %s\n", *out)
	}
	return nil
}
