package multiplayer

import "sync"

// SceneMultiplayer's announcements on channel 0, and the messages on other
// channels that must not overtake them (modules/multiplayer/
// scene_multiplayer.cpp and scene_replication_interface.cpp, Godot 4.0 on).
//
// SceneMultiplayer tells a client of other peers with ADD_PEER and
// DEL_PEER (server relay, the default), and of nodes with MultiplayerSpawner's
// SPAWN, all reliable on channel 0. It forwards what clients send each
// other as RELAY with the sender's id, on the channel and in the mode the
// sender used; the game sends its RPCs on the channels it chose. Channel 0
// and every other channel are separate streams, and unreliable messages
// are on none, so under loss:
//   - a relayed message from a client that just joined can reach another
//     client's game before the ADD_PEER that announces the sender: the
//     game gets a message, or an RPC whose get_remote_sender_id() is, a
//     peer it has had no peer_connected for;
//   - a reliable RPC on another channel, on a node spawned just before,
//     can arrive before the SPAWN: SceneMultiplayer finds no node at its
//     path and drops it ("Failed to get path from RPC");
//   - a DEL_PEER can reach a client before the last reliable messages
//     relayed from the leaving client on other channels: they arrive from
//     a peer the game was told has left.
//
// ENet has all three: it maps channels to separate ENet channels.
//
// The sender knows the order it sent in; the receiver only what arrived.
// So with Options.SceneOrder the server puts an order mark (frame.go) on
// the messages that must not overtake an earlier one, and the client's
// inbox holds a marked message until what it names has passed
// (orderhold.go):
//   - a reliable message off channel 0, and a relayed message in any mode
//     off reliable channel 0, waits for the last announcement the server
//     sent that client before it: an ADD_PEER or a SPAWN (the one it
//     depends on is that one or an earlier one);
//   - a DEL_PEER waits for every reliable message the server sent that
//     client before it on the other channels (the leaving client's relays
//     among them).
//
// A client's own spawns race the same way towards the server: a node
// spawned by a client (a MultiplayerSpawner it has authority over) and an
// RPC on it on another channel right after. So a client with SceneOrder
// marks its own messages after its last SPAWN by the first rule above,
// and the server's inbox holds them the same way; the server then relays
// them in the order its game read them, marked for the other clients.
//
// Every mark names messages sent earlier than its own, so no two holds
// wait for each other. Each names a little more than it needs (the last
// announcement rather than the one the message depends on, every reliable
// message rather than the leaving peer's): that costs a wait only while
// such a message is being resent, and keeps the server's state per client
// to one number and a count per channel. What is not held, and why:
//   - the server's own unreliable messages (a MultiplayerSynchronizer's
//     updates, unreliable RPCs): holding them behind a lost SPAWN would
//     hold every node's updates while it is resent. They follow the
//     reliable messages of their own channel that have arrived
//     (follow.go): one whose node's SPAWN was lost goes on, and is
//     dropped, as a lost one would be;
//   - a DESPAWN: holding it behind every earlier reliable message would
//     hold channel 0 behind the other channels' losses at every despawn;
//     an RPC that arrives after its node's DESPAWN is dropped;
//   - unreliable relays for a DEL_PEER: they may have been lost, and
//     nothing could tell.
//
// The transport reads the bytes, not SceneMultiplayer: a game's own
// message that looks like one of these only waits for messages its sender
// really sent before it, which arrive.

// SceneMultiplayer's bytes: the command in the low bits of the first byte
// (NETWORK_COMMAND_*); for NETWORK_COMMAND_SYS (sceneCommandSys), a system
// command and a peer id (little-endian int32), and a relay's message after
// that.
const (
	sceneCommandMask  = 7 // CMD_MASK
	sceneCommandSpawn = 4 // NETWORK_COMMAND_SPAWN
	sceneSysAddPeer   = 1 // SYS_COMMAND_ADD_PEER
	sceneSysDelPeer   = 2 // SYS_COMMAND_DEL_PEER
	sceneSysRelay     = 3 // SYS_COMMAND_RELAY
	sceneSysSize      = 6 // SYS_CMD_SIZE
)

// sceneOrder is what a session keeps to mark the messages it sends its
// peer.
type sceneOrder struct {
	mu            sync.Mutex // a mark and the numbers it reads go with the send
	lastAnnounced uint32     // channel 0's number of the last ADD_PEER or SPAWN sent
}

// numbersReliable reports whether the session numbers its reliable
// messages per channel: with Options.SceneOrder.
func (s *session) numbersReliable() bool { return s.sh.opts.SceneOrder }

// takesMark reports whether a mark that arrived is one the peer may send.
// A server's marks may name any channel; a client's name only its last
// announcement on channel 0 (sendOrdered), and anything else from a
// client is refused rather than held (a mark of 255 entries would cost
// the server's memory beyond the message's bytes).
func (s *session) takesMark(after orderMark) bool {
	return !s.isServer || (len(after) == 1 && after[0].channel == 0)
}

// sceneSys is the system command a message carries, or -1.
func sceneSys(data []byte) int {
	if len(data) < sceneSysSize || data[0] != sceneCommandSys {
		return -1
	}
	return int(data[1])
}

// isAnnouncement reports whether a message on reliable channel 0 is an
// ADD_PEER or a SPAWN, the sender's own or relayed.
func isAnnouncement(data []byte) bool {
	switch sceneSys(data) {
	case sceneSysAddPeer:
		return len(data) == sceneSysSize
	case sceneSysRelay:
		return len(data) > sceneSysSize && data[sceneSysSize]&sceneCommandMask == sceneCommandSpawn
	}
	return len(data) > 0 && data[0]&sceneCommandMask == sceneCommandSpawn
}

// sendOrdered sends a message to the session's peer, marked as the comment
// above says. Server.send calls it for a message to one peer, Client.send
// for every message. A server's broadcast (target 0 or -id) is not marked:
// SceneMultiplayer never sends one (it sends each peer its copy), and
// marks differ per peer, so marking one would copy it for each. Only a
// server marks a DEL_PEER: a client sends none.
func (s *session) sendOrdered(channel int, mode Mode, msg *outgoing) error {
	if !s.numbersReliable() {
		return s.send(channel, mode, msg)
	}
	o := &s.scene
	o.mu.Lock()
	defer o.mu.Unlock()
	onChannel0 := channel == 0 && mode == Reliable
	var after orderMark
	switch cmd := sceneSys(msg.data); {
	case onChannel0 && s.isServer && cmd == sceneSysDelPeer && len(msg.data) == sceneSysSize:
		for c, n := range s.reliableSent() {
			if c > 0 && n > 0 {
				after = append(after, markEntry{channel: uint8(c), number: n})
			}
		}
	case !onChannel0 && o.lastAnnounced > 0 && (mode == Reliable || cmd == sceneSysRelay):
		after = orderMark{{channel: 0, number: o.lastAnnounced}}
	}
	number, err := s.sendAfter(channel, mode, msg, after)
	if err == nil && onChannel0 && isAnnouncement(msg.data) {
		o.lastAnnounced = number
	}
	return err
}
