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
package stream
