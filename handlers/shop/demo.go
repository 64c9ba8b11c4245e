package shop

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
)

// DemoPrefix starts the OpenIDs and customer IDs of demo customers, so
// `opsbot demo --remove` finds everything demo wrote.
const DemoPrefix = "oDemo"

// DemoDays is how much history `opsbot demo` writes.
const DemoDays = 120

// ErrRealData means the database already holds real orders.
var ErrRealData = errors.New("the database already holds real orders; use --force to add demo data anyway")

// DemoSummary is what `opsbot demo` wrote.
type DemoSummary struct {
	Orders, Events, TrafficDays, Followers, Complaints, Surveys int
	From, To                                                    time.Time
}

// Demo writes realistic shop activity for trying opsbot without a shop.
type Demo struct {
	Store *store.DB
	Loc   *time.Location
}

// Fill writes DemoDays days up to now: orders with a weekly rhythm and a
// 双11 peak, payments, completions and refunds, daily traffic, WeChat
// followers (some who wrote recently), complaints in every state, and
// satisfaction survey answers for completed orders. It
// is deterministic, so two runs write the same rows (the second is all
// duplicates).
func (d *Demo) Fill(ctx context.Context, now time.Time, force bool) (DemoSummary, error) {
	if !force {
		real, err := d.Store.HasRealOrders(ctx)
		if err != nil {
			return DemoSummary{}, err
		}
		if real {
			return DemoSummary{}, ErrRealData
		}
	}
	rng := rand.New(rand.NewPCG(11, 11))
	today := domain.Midnight(now, d.Loc)
	from := today.AddDate(0, 0, -DemoDays)
	sum := DemoSummary{From: from, To: today}
	var evs []domain.OrderEvent
	var traffic []domain.TrafficDay
	flush := func() error {
		if _, err := d.Store.IngestOrderEvents(ctx, evs, true, nil); err != nil {
			return err
		}
		sum.Events += len(evs)
		evs = evs[:0]
		return nil
	}
	customers := 4000
	for day := from; !day.After(today); day = day.AddDate(0, 0, 1) {
		n := ordersOn(day, rng)
		elapsed := 1.0
		if day.Equal(today) {
			elapsed = now.Sub(today).Hours() / 24
		}
		n = int(float64(n) * elapsed)
		for i := 0; i < n; i++ {
			cust := rng.IntN(customers)
			if rng.Float64() < 0.3 {
				cust = rng.IntN(customers / 10) // regulars buy again
			}
			id := fmt.Sprintf("D%s%04d", day.Format("20060102"), i)
			created := day.Add(time.Duration(hourWeight(rng)*float64(time.Hour)) + time.Duration(rng.IntN(3600))*time.Second)
			if created.After(now) {
				continue
			}
			// Prices around ¥150, log-normal, ending in .90.
			total := max(int64(math.Round(math.Exp(rng.NormFloat64()*0.6+math.Log(150))))*100-10, 990)
			openID := ""
			if cust%5 != 0 {
				openID = fmt.Sprintf("%s%05d", DemoPrefix, cust)
			}
			base := domain.OrderEvent{OrderID: id, CustomerID: fmt.Sprintf("%s-c%05d", DemoPrefix, cust), WeChatOpenID: openID,
				Total: total, Channel: []string{"mini-program", "app", "web"}[rng.IntN(3)]}
			add := func(t domain.OrderEventType, at time.Time, amount int64) {
				if at.After(now) {
					return
				}
				e := base
				e.ID, e.Type, e.OccurredAt, e.Total = id+"-"+string(t), t, at, amount
				evs = append(evs, e)
			}
			add(domain.OrderCreated, created, total)
			sum.Orders++
			if rng.Float64() < 0.08 {
				add(domain.OrderCancelled, created.Add(20*time.Minute), total)
				continue
			}
			paid := created.Add(time.Duration(1+rng.IntN(15)) * time.Minute)
			add(domain.OrderPaid, paid, total)
			add(domain.OrderCompleted, paid.Add(time.Duration(48+rng.IntN(72))*time.Hour), total)
			if rng.Float64() < 0.05 {
				add(domain.OrderRefunded, paid.Add(time.Duration(24+rng.IntN(200))*time.Hour), total)
			}
			if len(evs) >= 2000 {
				if err := flush(); err != nil {
					return sum, err
				}
			}
		}
		if day.Before(today) {
			uv := int64(float64(ordersOn(day, rand.New(rand.NewPCG(uint64(day.Unix()), 1)))) / (0.028 + rng.Float64()*0.008))
			traffic = append(traffic, domain.TrafficDay{Date: day, PV: uv * int64(4+rng.IntN(3)), UV: uv,
				NewUsers: uv / int64(8+rng.IntN(4)), ActiveUsers: uv * 2 / 3})
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	if err := d.Store.PutTraffic(ctx, traffic, true); err != nil {
		return sum, err
	}
	sum.TrafficDays = len(traffic)
	n, err := d.followers(ctx, now, customers)
	if err != nil {
		return sum, err
	}
	sum.Followers = n
	if sum.Complaints, err = d.complaints(ctx, now, rng); err != nil {
		return sum, err
	}
	surveys, err := d.Store.DemoSurveys(ctx, now)
	if err != nil {
		return sum, err
	}
	sum.Surveys = int(surveys)
	return sum, nil
}

// ordersOn is the day's order volume: a weekly rhythm (weekends busier),
// the run-up to 双11 and its peak, and some noise.
func ordersOn(day time.Time, rng *rand.Rand) int {
	n := 160.0
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		n *= 1.35
	case time.Friday:
		n *= 1.15
	}
	if day.Month() == time.November {
		switch d := day.Day(); {
		case d == 11:
			n *= 6
		case d >= 1 && d < 11:
			n *= 1.3
		case d == 12:
			n *= 1.8
		}
	}
	return int(n * (0.9 + rng.Float64()*0.2))
}

// hourWeight picks an hour of the day, most orders in the evening.
func hourWeight(rng *rand.Rand) float64 {
	h := 20 + rng.NormFloat64()*4
	return math.Mod(math.Abs(h), 24)
}

func (d *Demo) followers(ctx context.Context, now time.Time, customers int) (int, error) {
	n, err := d.Store.DemoFollowers(ctx, DemoPrefix, customers, now)
	return int(n), err
}

var demoComplaints = []string{
	"订单 %s 收到的杯子碎了，包装也破了",
	"快递三天没动了，订单 %s 到底什么时候发货",
	"客服态度太差了，问了两次都没人理",
	"申请退款一周了还没到账，订单 %s",
	"订单 %s 显示已签收但我没收到",
	"羽绒服质量太差了，拉链也坏了",
	"优惠券没有用上，多付了钱，订单 %s",
	"尺码和描述不一样，想换货",
}

// complaints files demo complaints in every state: new, claimed, replied,
// resolved on time and late, overdue.
func (d *Demo) complaints(ctx context.Context, now time.Time, rng *rand.Rand) (int, error) {
	n := 0
	for i := 0; i < 60; i++ {
		created := now.Add(-time.Duration(rng.IntN(DemoDays*24)) * time.Hour)
		if i < 8 {
			created = now.Add(-time.Duration(10+rng.IntN(600)) * time.Minute) // some fresh ones
		}
		order := fmt.Sprintf("D%s%04d", created.In(d.Loc).Format("20060102"), rng.IntN(100))
		text := demoComplaints[i%len(demoComplaints)]
		if strings.Contains(text, "%s") {
			text = fmt.Sprintf(text, order)
		}
		cust := 1 + rng.IntN(3998)
		if cust%5 == 0 { // customers without WeChat
			cust++
		}
		openID := fmt.Sprintf("%s%05d", DemoPrefix, cust)
		c := domain.Complaint{Source: domain.SourceWeChat, OpenID: openID, CreatedBy: openID, CreatedAt: created,
			Text: text, Order: domain.ExtractOrder(text), Category: domain.Classify(text)}
		c, err := d.Store.CreateComplaint(ctx, c, func(domain.Complaint) domain.ComplaintChange { return domain.ComplaintChange{} })
		if err != nil {
			return n, fmt.Errorf("demo complaint: %w", err)
		}
		n++
		agent := []string{"U0DEMOAGENT1", "U0DEMOAGENT2", "U0DEMOAGENT3"}[i%3]
		stage := i % 6
		if i < 8 {
			stage = i % 3
		}
		_, err = d.Store.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			var ch domain.ComplaintChange
			step := func(e domain.ComplaintEvent, err error) {
				if err == nil {
					ch.Events = append(ch.Events, e)
				}
			}
			if stage == 0 {
				return ch, nil // new, nobody on it
			}
			at := c.CreatedAt.Add(time.Duration(5+rng.IntN(600)) * time.Minute)
			step(c.Claim(agent, at))
			if stage >= 2 {
				step(c.Reply(agent, "您好，非常抱歉给您带来不便，我们正在为您处理。", at.Add(3*time.Minute)), nil)
			}
			if stage >= 3 {
				late := time.Duration(0)
				if stage == 4 {
					late = 72 * time.Hour
				}
				res := at.Add(time.Duration(2+rng.IntN(30))*time.Hour + late)
				if res.Before(now) && stage != 5 {
					step(c.Resolve(agent, "已为您补发/退款，并赠送 5 元无门槛优惠券。", res))
				}
			}
			return ch, nil
		})
		if err != nil {
			return n, fmt.Errorf("demo complaint %s: %w", c.Number, err)
		}
	}
	return n, nil
}

// Remove deletes every row demo wrote and reports how many.
func (d *Demo) Remove(ctx context.Context) (int64, error) {
	return d.Store.RemoveDemo(ctx, DemoPrefix)
}
