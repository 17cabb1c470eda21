package multiplayer

import "sync"

// SceneMultiplayer's server relay, as the transport sees it
// (modules/multiplayer/scene_multiplayer.cpp, Godot 4.0 on).
//
// With server_relay (the default), clients reach each other through the
// server. The server tells each client of the others with ADD_PEER and
// DEL_PEER, reliable on channel 0, and forwards a client's message to
// another as RELAY with the sender's id, on the channel and in the mode
// the sender used. Channel 0 and every other channel are separate
// streams, and unreliable messages are not on a stream at all, so under
// loss:
//   - a relayed message from a client that just joined can reach another
//     client's game before the ADD_PEER that announces the sender (it was
//     sent later, but ADD_PEER was lost and is being resent): the game
//     gets a message, or an RPC whose get_remote_sender_id() is, a peer
//     it has not seen peer_connected for;
//   - a DEL_PEER can reach it before the last relayed reliable messages
//     the leaving client sent on other channels: they arrive from a peer
//     the game was told has left.
//
// ENet has both races: it maps channels to separate ENet channels.
//
// The server knows the order it sent in; the client only what arrived. So
// with Options.RelayOrder the server puts an order mark (frame.go) on the
// messages that must not overtake an earlier one, and the client's inbox
// holds a marked message until what it names has passed (orderhold.go):
//   - a RELAY not on reliable channel 0 waits for the last ADD_PEER the
//     server sent that client before it (the sender's own is that one or
//     an earlier one);
//   - a DEL_PEER waits for every reliable message the server sent that
//     client before it on the other channels (the leaving client's relays
//     among them).
//
// Both wait for messages sent earlier than themselves, so no two marks
// wait for each other. Each waits for a little more than it needs (the
// last ADD_PEER rather than the sender's own, every reliable message
// rather than the leaving peer's): that costs a wait only while such a
// message is being resent, and keeps the server's state per client to one
// number and a count per channel. Unreliable relays are not held back for
// a DEL_PEER: they may have been lost, and nothing could tell.
//
// The transport reads the bytes, not SceneMultiplayer: a game's own
// message that looks like one of these only waits for messages the server
// really sent before it, which arrive.

// SceneMultiplayer's system commands after NETWORK_COMMAND_SYS
// (sceneCommandSys): a peer id (little-endian int32) follows, and a
// relay's message after that.
const (
	sceneSysAddPeer = 1 // SYS_COMMAND_ADD_PEER
	sceneSysDelPeer = 2 // SYS_COMMAND_DEL_PEER
	sceneSysRelay   = 3 // SYS_COMMAND_RELAY
	sceneSysSize    = 6 // SYS_CMD_SIZE
)

// relayOrder is what a server's session keeps to mark the messages it
// sends its peer alone.
type relayOrder struct {
	mu      sync.Mutex // a mark and the numbers it reads go with the send
	lastAdd uint32     // channel 0's number of the last ADD_PEER sent
}

// numbersReliable reports whether the session numbers its reliable
// messages per channel: a server's, with Options.RelayOrder.
func (s *session) numbersReliable() bool { return s.isServer && s.sh.opts.RelayOrder }

// sceneSys is the system command a message carries, or -1.
func sceneSys(data []byte) int {
	if len(data) < sceneSysSize || data[0] != sceneCommandSys {
		return -1
	}
	return int(data[1])
}

// sendOrdered sends the peer alone a message (Server.send with a target),
// marking SceneMultiplayer's relays and DEL_PEER as the comment above
// says. Broadcasts are not marked: SceneMultiplayer sends none of these.
func (s *session) sendOrdered(channel int, mode Mode, msg *outgoing) error {
	if !s.numbersReliable() {
		return s.send(channel, mode, msg)
	}
	r := &s.relay
	r.mu.Lock()
	defer r.mu.Unlock()
	onChannel0 := channel == 0 && mode == Reliable
	announcement := onChannel0 && len(msg.data) == sceneSysSize
	var after orderMark
	switch cmd := sceneSys(msg.data); {
	case cmd == sceneSysRelay && !onChannel0 && len(msg.data) > sceneSysSize && r.lastAdd > 0:
		after = orderMark{{channel: 0, number: r.lastAdd}}
	case cmd == sceneSysDelPeer && announcement:
		for c, n := range s.reliableSent() {
			if c > 0 && n > 0 {
				after = append(after, markEntry{channel: uint8(c), number: n})
			}
		}
	}
	number, err := s.sendAfter(channel, mode, msg, after)
	if err == nil && announcement && sceneSys(msg.data) == sceneSysAddPeer {
		r.lastAdd = number
	}
	return err
}
