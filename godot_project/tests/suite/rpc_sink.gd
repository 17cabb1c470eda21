# A node both ends of an in-process SceneMultiplayer test carry at the same
# path: the server calls r() on the client's.
extends Node

var got: Array = []


@rpc("authority", "call_remote", "reliable", 0)
func r(i: int) -> void:
	got.append(i)
