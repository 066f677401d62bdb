// Package stream is Hearth's event stream: the encoding of firehose frames,
// appending them to the store's event log inside the transaction of the
// change they announce, and com.atproto.sync.subscribeRepos over WebSocket.
//
// Frames are encoded once, when the event is appended, and stored ready to
// send. Once the transaction commits, and before the write is answered,
// the Emitter publishes each frame to the Server, which keeps the newest
// in a ring bounded by count and bytes (ring.go) and wakes every waiting
// subscriber by closing one channel. Subscribers pull in sequence order:
// from the ring when it holds what follows their position, so that live
// delivery opens no transaction and every subscriber sends the same bytes,
// else from the store. Replay and live delivery are one loop, so the
// switch from one to the other can have neither gap nor duplicate; an
// event that went by unpublished breaks the ring's run and is read from
// the store. Nothing is buffered per subscriber: a consumer that falls too
// far behind the store's committed head while live (not only the ring's,
// which a transaction's events reach one by one) is sent ConsumerTooSlow
// and closed, and
// one write timer per connection drops a consumer that stops reading; one
// that went a ping interval without a frame is pinged, and dropped if it
// does not answer.
// Waiting subscribers wait on that channel alone: whatever ends a
// connection (its peer going, a ping unanswered, the server closing)
// cancels its context, and the cancellation wakes them all to look. Each
// connection's writes go through a buffer that holds a whole frame
// (conn.go), so that a frame is one write call.
//
// The Crawler keeps relays in touch with this host: requestCrawl at start
// and after quiet periods, getHostStatus every check interval, and, for a
// relay that sees the host active, getRepoStatus about a few hosted
// accounts in turn. An account the relay lacks past a grace period, does
// not know, or holds desynchronized or inactive is announced again (#account
// and #sync) and the relay asked to crawl, each with its own back-off (the
// crawl requests' back-off starts over only once every account is found in
// step); throttling and takedowns are only reported, since asking does not
// lift them. An answer about another account than the one asked about is
// refused.
package stream
