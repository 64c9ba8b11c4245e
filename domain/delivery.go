package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync/atomic"
)

// ErrDelivered means an inbound delivery already had its effect, through
// another attempt at handling it (a retry, a replica, a sweep): this
// attempt's change was rolled back and its answer must not be sent.
var ErrDelivered = errors.New("delivery already handled")

// DeliveryClaim is one attempt at handling an inbound delivery (a WeChat
// message, a Slack event). An adapter puts it in the context it hands the
// router; the store then commits a transaction made under it only if no
// other attempt at the same delivery has committed one (see
// store.DB.InTx), so a delivery has its effect — a complaint filed, a
// text attached, a score recorded — once, however many attempts run.
type DeliveryClaim struct {
	Platform Platform
	Key      string
	// Attempt identifies this attempt; its transactions may commit as
	// often as they like.
	Attempt string
	lost    atomic.Bool
}

// NewDeliveryClaim starts an attempt at the delivery platform/key.
func NewDeliveryClaim(platform Platform, key string) *DeliveryClaim {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &DeliveryClaim{Platform: platform, Key: key, Attempt: hex.EncodeToString(b[:])}
}

// Lose records that another attempt had the effect first.
func (c *DeliveryClaim) Lose() { c.lost.Store(true) }

// Lost reports whether another attempt had the effect first: this one's
// answer must be dropped.
func (c *DeliveryClaim) Lost() bool { return c != nil && c.lost.Load() }

type claimKey struct{}

// WithDelivery returns ctx carrying the attempt c.
func WithDelivery(ctx context.Context, c *DeliveryClaim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// DeliveryFrom returns the attempt ctx carries, or nil.
func DeliveryFrom(ctx context.Context) *DeliveryClaim {
	c, _ := ctx.Value(claimKey{}).(*DeliveryClaim)
	return c
}

// Unfinished is an inbound delivery recorded and never finished, as the
// sweep hands it back: its key and what it said.
type Unfinished struct {
	Key     string
	Payload string
}
