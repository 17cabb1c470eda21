package multiplayer

// SceneMultiplayer's authentication, as the transport sees it
// (modules/multiplayer/scene_multiplayer.cpp, Godot 4.0 on).
//
// With an auth_callback, SceneMultiplayer keeps a new peer pending until
// both sides have called complete_auth: each side sends its auth data
// (send_auth) and then its completion, reliable on channel 0, and admits
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
// the peer an authentication message (SceneMultiplayer here authenticates
// the peer) until the peer's completion is queued for the game, which then
// reads the completion first and the held messages after it. Nothing
// changes for a game without an auth_callback: it sends no authentication
// message.

// The bytes of an authentication message: the command byte (its low three
// bits NETWORK_COMMAND_SYS), SYS_COMMAND_AUTH, then the auth data; a
// completion has no data.
const (
	sceneCommandMask = 0x07 // CMD_MASK
	sceneCommandSys  = 7    // NETWORK_COMMAND_SYS
	sceneSysAuth     = 0    // SYS_COMMAND_AUTH
)

// maxAuthHeld bounds the messages one peer may have held behind its
// completion, beside the peer's inbox bytes: empty messages cost no bytes.
// SceneMultiplayer's auth_timeout (3 s by default) ends a peer that never
// completes; until then its readers wait, and its unreliable messages
// beyond the bound are dropped.
const maxAuthHeld = 1024

// isSceneAuth reports whether a message is SceneMultiplayer's auth data or
// completion: both travel reliable on channel 0.
func isSceneAuth(channel int, mode Mode, data []byte) bool {
	return channel == 0 && mode == Reliable && len(data) >= 2 &&
		data[0]&sceneCommandMask == sceneCommandSys && data[1] == sceneSysAuth
}

// isSceneAuthCompletion reports whether a message is a completion.
func isSceneAuthCompletion(channel int, mode Mode, data []byte) bool {
	return len(data) == 2 && isSceneAuth(channel, mode, data)
}
