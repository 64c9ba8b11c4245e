package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/opsbot/opsbot/handlers/shop"
)

// importCmd is `opsbot import orders|traffic FILE.csv [--dry-run]`.
func importCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, out, errOut io.Writer) error {
	const usage = "usage: opsbot import orders|traffic FILE.csv [--dry-run]"
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(out)
	dry := fs.Bool("dry-run", false, "check the file and report what would happen; write nothing")
	if len(args) < 2 || (args[0] != "orders" && args[0] != "traffic") {
		return errors.New(usage)
	}
	kind, path := args[0], args[1]
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	cr := &countingReader{r: f}
	im := &shop.Importer{Store: a.db, Events: a.events, Loc: cfg.Location}
	if ef, ok := errOut.(*os.File); ok && term.IsTerminal(int(ef.Fd())) && size > 0 {
		im.Progress = func(lines int) {
			fmt.Fprintf(errOut, "\r%s %3d%%  %d lines", bar(cr.n.Load(), size, 30), cr.n.Load()*100/size, lines)
		}
		defer fmt.Fprintln(errOut)
	}
	sum, err := im.Import(ctx, kind, cr, *dry)
	if err != nil {
		return err
	}
	verb := "imported"
	if sum.DryRun {
		verb = "dry run, nothing written"
	}
	fmt.Fprintf(out, "%s %s (%s): read %d, accepted %d, duplicates %d, rejected %d\n",
		kind, path, verb, sum.Read, sum.Accepted, sum.Duplicates, sum.Rejected)
	for _, r := range sum.Reasons {
		fmt.Fprintf(out, "  line %d: %s\n", r.Line, r.Error)
	}
	if sum.Rejected > len(sum.Reasons) {
		fmt.Fprintf(out, "  … and %d more rejected lines\n", sum.Rejected-len(sum.Reasons))
	}
	return nil
}

func bar(done, total int64, width int) string {
	n := int(done * int64(width) / total)
	b := make([]rune, width)
	for i := range b {
		b[i] = '░'
		if i < n {
			b[i] = '█'
		}
	}
	return string(b)
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// demoCmd is `opsbot demo [--force|--remove]`.
func demoCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	force := fs.Bool("force", false, "add demo data even though the database holds real orders")
	remove := fs.Bool("remove", false, "take every demo row out again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	d := &shop.Demo{Store: a.db, Loc: cfg.Location}
	if *remove {
		n, err := d.Remove(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %d demo rows\n", n)
		return nil
	}
	sum, err := d.Fill(ctx, time.Now(), *force)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "demo data for %s..%s: %d orders (%d events), %d days of traffic, %d WeChat followers, %d complaints, %d surveys\n"+
		"try: opsbot chat, then `metrics yesterday`, `metrics week`, `complaint list all`, `survey report month`; remove it with opsbot demo --remove\n",
		sum.From.Format("2006-01-02"), sum.To.Format("2006-01-02"), sum.Orders, sum.Events, sum.TrafficDays, sum.Followers, sum.Complaints, sum.Surveys)
	return nil
}
