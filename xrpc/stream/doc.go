// Package stream is Hearth's event stream: the encoding of firehose frames,
// appending them to the store's event log inside the transaction of the
// change they announce, and com.atproto.sync.subscribeRepos over WebSocket.
//
// Frames are encoded once, when the event is appended, and stored ready to
// send. Subscribers pull from the log in sequence order (from a small shared
// cache of recent frames, else from the store), so replay and live delivery
// are one loop and the switch from one to the other can have neither gap nor
// duplicate. Nothing is buffered per subscriber: a consumer that falls too
// far behind the head while live is sent ConsumerTooSlow and closed.
//
// The Crawler keeps relays in touch with this host: requestCrawl at start
// and after quiet periods, getHostStatus every check interval, and, for a
// relay that sees the host active, getRepoStatus about a few hosted
// accounts in turn. An account the relay lacks past a grace period, does
// not know, or holds desynchronized or inactive is announced again (#account
// and #sync) and the relay asked to crawl, each with its own back-off;
// throttling and takedowns are only reported, since asking does not lift
// them.
package stream
