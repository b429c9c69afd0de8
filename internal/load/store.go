package load

import (
	"math/rand/v2"
	"sync"
)

// tracked keeps acknowledged writes, up to a cap, for reads and for verification. It is safe
// for concurrent use.
type tracked[T any] struct {
	limit int

	mu      sync.Mutex
	items   []T
	dropped int64
}

func newTracked[T any](limit int) *tracked[T] {
	return &tracked[T]{limit: limit}
}

// add keeps v, or counts it as dropped once the cap is reached.
func (t *tracked[T]) add(v T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.items) >= t.limit {
		t.dropped++
		return
	}
	t.items = append(t.items, v)
}

// random returns a uniformly chosen item; ok is false while there is none.
func (t *tracked[T]) random() (v T, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.items) == 0 {
		return v, false
	}
	return t.items[rand.IntN(len(t.items))], true
}

// all returns a copy of every item.
func (t *tracked[T]) all() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]T(nil), t.items...)
}

// overflow returns the number of items dropped past the cap.
func (t *tracked[T]) overflow() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// ring keeps the most recent items up to a fixed size, for data only reads need, such as
// Kratos session tokens. It is safe for concurrent use.
type ring[T any] struct {
	mu    sync.Mutex
	items []T
	next  int
}

func newRing[T any](size int) *ring[T] {
	return &ring[T]{items: make([]T, 0, size)}
}

func (r *ring[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.items) < cap(r.items) {
		r.items = append(r.items, v)
		return
	}
	r.items[r.next] = v
	r.next = (r.next + 1) % len(r.items)
}

func (r *ring[T]) random() (v T, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.items) == 0 {
		return v, false
	}
	return r.items[rand.IntN(len(r.items))], true
}
