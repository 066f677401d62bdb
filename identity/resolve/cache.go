package resolve

import (
	"container/list"
	"sync"
	"time"
)

// cache is a least-recently-used map with a time limit per entry. Only
// successful answers go in: a failure may be a passing network fault, and
// a handle being set up is looked up again right after its owner fixes it.
type cache struct {
	mu    sync.Mutex
	order *list.List // front is the most recently used
	items map[string]*list.Element
}

type entry struct {
	key   string
	doc   *Document
	did   string
	until time.Time
}

func (c *cache) get(key string, now time.Time) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e, true
}

func (c *cache) put(e *entry, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]*list.Element{}
		c.order = list.New()
	}
	if el, ok := c.items[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry).key)
	}
	c.items[e.key] = c.order.PushFront(e)
}

func (c *cache) forget(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if el, ok := c.items[k]; ok {
			c.order.Remove(el)
			delete(c.items, k)
		}
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
