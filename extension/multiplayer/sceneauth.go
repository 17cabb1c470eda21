package multiplayer

import "sync/atomic"

// SceneMultiplayer's authentication, as the transport sees it
// (modules/multiplayer/scene_multiplayer.cpp, Godot 4.0 on).
//
// With an auth_callback, SceneMultiplayer keeps a new peer pending until
// both sides have called complete_auth: each side may send auth data
// (send_auth), then sends its completion, reliable on channel 0, and admits
// the peer when it has read the peer's completion. Until then it drops
// every other packet from that peer ("Condition ... != SYS_COMMAND_AUTH
// is true. Continuing."). A peer starts sending on its other channels
// once it has admitted us, which needs our completion only: under loss its
// own completion, on channel 0, can still be on its way, and whatever the
// peer sent on another channel or unreliably overtakes it and is dropped.
// The multiplayer test lost a loss client's first 156 RPCs of 10,000 this
// way, 1 run in 25 under load (docs/reliability.md). ENet has the same race:
// it maps channel 0 and the other channels to separate ENet channels.
//
// So with Options.AuthOrder, a peer's messages that would overtake its
// completion wait for it (inbox.push): from the moment this side has sent
// the peer its own completion until the peer's completion is queued for
// the game, which then reads the completion first and the held messages
// after it.
//
// The transport cannot ask SceneMultiplayer whether it authenticates; it
// reads the bytes. A message of a game that uses the peer without
// SceneMultiplayer could look the same, so the hold is narrow: it starts
// only at a message of exactly SceneMultiplayer's two completion bytes,
// sent to that one peer, and ends at the first message this side sends that
// peer alone that is not authentication (SceneMultiplayer sends a pending
// peer nothing else; a broadcast does not count: it goes to pending peers
// too). A game whose own protocol sent those two bytes gets its messages
// again from its next one. The benchmark's raw timestamps stalled clients
// with an earlier, looser rule (any message starting with the command
// byte's low bits and SYS_COMMAND_AUTH): 1 in 2,048 of them matched.

// The bytes of an authentication message: NETWORK_COMMAND_SYS (no flags),
// SYS_COMMAND_AUTH, then the auth data; a completion has no data.
const (
	sceneCommandSys = 7 // NETWORK_COMMAND_SYS
	sceneSysAuth    = 0 // SYS_COMMAND_AUTH
)

// maxAuthHeld bounds the messages one peer may have held behind its
// completion, beside the peer's inbox bytes: empty messages cost no bytes.
// SceneMultiplayer's auth_timeout (3 s by default) ends a peer that never
// completes; until then its readers wait, and its unreliable messages
// beyond the bound are dropped.
const maxAuthHeld = 1024

// authOrder is a session's place in SceneMultiplayer's authentication.
type authOrder struct{ state atomic.Int32 }

const (
	authNone    int32 = iota // no completion sent to the peer yet
	authHolding              // ours sent, the peer's not queued: what overtakes it waits
	authOver                 // the peer's queued, or the hold released
)

// holding reports whether the peer's messages that are not authentication
// wait.
func (a *authOrder) holding() bool { return a.state.Load() == authHolding }

// isSceneAuth reports whether a message is SceneMultiplayer's auth data or
// completion: both travel reliable on channel 0.
func isSceneAuth(channel int, mode Mode, data []byte) bool {
	return channel == 0 && mode == Reliable && len(data) >= 2 &&
		data[0] == sceneCommandSys && data[1] == sceneSysAuth
}

// isSceneAuthCompletion reports whether a message is a completion.
func isSceneAuthCompletion(channel int, mode Mode, data []byte) bool {
	return len(data) == 2 && isSceneAuth(channel, mode, data)
}

// sentTo follows what this side sends the peer alone (not broadcasts):
// our completion starts the hold; anything but authentication ends it.
func (s *session) sentTo(channel int, mode Mode, data []byte) {
	if !s.sh.opts.AuthOrder {
		return
	}
	switch {
	case isSceneAuthCompletion(channel, mode, data):
		// Before it leaves: the peer's answer comes after. Not when the
		// peer's completion is already queued.
		s.auth.state.CompareAndSwap(authNone, authHolding)
	case !isSceneAuth(channel, mode, data) && s.auth.holding():
		s.sh.in.releaseAuth(s)
	}
}
