package digests

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/go-analyze/charts"
	"github.com/golang/freetype/truetype"

	"github.com/opsbot/opsbot/domain"
)

// cjkFontPaths are where Linux distributions and macOS keep fonts with
// Chinese glyphs; the first that parses is used. OPSBOT_CHART_FONT names
// another file (TTF, or the first face of a TTC).
var cjkFontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
	"/System/Library/Fonts/PingFang.ttc",
	"/System/Library/Fonts/STHeiti Light.ttc",
	"/Library/Fonts/Arial Unicode.ttf",
}

// cjkFont is the system CJK font, or nil when there is none: charts then
// use the library's embedded Latin font and keep their text in English.
var cjkFont = sync.OnceValue(func() *truetype.Font {
	paths := cjkFontPaths
	if p := os.Getenv("OPSBOT_CHART_FONT"); p != "" {
		paths = append([]string{p}, paths...)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f, err := truetype.Parse(b); err == nil {
			return f
		}
	}
	return nil
})

// chartSize is the PNG's size in pixels: wide enough for 30 labels,
// readable on a phone.
const chartWidth, chartHeight = 900, 420

// Chart is a rendered chart.
type Chart struct {
	Title string
	PNG   []byte
}

// RenderChart draws GMV (yuan, left axis) and orders (right axis) per
// bucket as a PNG, with no browser. Labels are dates (days and weeks) or
// months.
func RenderChart(kind domain.DigestKind, pts []domain.DayFigure) (Chart, error) {
	if len(pts) == 0 {
		return Chart{}, fmt.Errorf("digests: chart: no points")
	}
	span := map[domain.DigestKind]string{domain.DigestDaily: "last 30 days", domain.DigestWeekly: "last 12 weeks",
		domain.DigestMonthly: "last 12 months"}[kind]
	title := "GMV and orders, " + span
	font := cjkFont()
	if font != nil {
		title = "GMV 与订单 · " + title
	}
	gmv := make([]float64, len(pts))
	orders := make([]float64, len(pts))
	labels := make([]string, len(pts))
	for i, p := range pts {
		gmv[i] = float64(p.GMV) / 100
		orders[i] = float64(p.Orders)
		switch kind {
		case domain.DigestMonthly:
			labels[i] = p.Day.Format("2006-01")
		default:
			labels[i] = p.Day.Format("01-02")
		}
	}
	opt := charts.NewLineChartOptionWithData([][]float64{gmv, orders})
	opt.Title.Text = title
	opt.Title.FontStyle.FontSize = 14
	opt.XAxis = charts.XAxisOption{Labels: labels}
	opt.Legend = charts.LegendOption{SeriesNames: []string{"GMV (¥)", "Orders"}}
	opt.Legend.Offset = charts.OffsetRight
	opt.SeriesList[1].YAxisIndex = 1
	opt.YAxis = append(opt.YAxis, opt.YAxis[0])
	opt.YAxis[0].Theme = opt.Theme.WithYAxisSeriesColor(0)
	opt.YAxis[1].Theme = opt.Theme.WithYAxisSeriesColor(1)
	opt.YAxis[0].ValueFormatter = yuanShort
	opt.YAxis[1].ValueFormatter = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	opt.Symbol.Shape = charts.SymbolNone
	opt.LineStrokeWidth = 2
	var popts []charts.PainterOptionFunc
	if font != nil {
		popts = append(popts, charts.PainterFontOption(font))
	}
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: chartWidth, Height: chartHeight}, popts...)
	if err := p.LineChart(opt); err != nil {
		return Chart{}, fmt.Errorf("digests: chart: %w", err)
	}
	b, err := p.Bytes()
	if err != nil {
		return Chart{}, fmt.Errorf("digests: chart: %w", err)
	}
	return Chart{Title: title, PNG: b}, nil
}

// yuanShort shows an axis amount: 12k, 1.2M.
func yuanShort(v float64) string {
	switch a := v; {
	case a >= 1e6 || a <= -1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e6), ".0") + "M"
	case a >= 1e3 || a <= -1e3:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e3), ".0") + "k"
	}
	return fmt.Sprintf("%.0f", v)
}
