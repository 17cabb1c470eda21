package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import "embed"

// The class reference (F1 in the editor) ships inside the library.

//go:embed doc_classes/*.xml
var docClasses embed.FS

// loadEditorHelp gives the editor the class reference at the EDITOR level,
// through the 4.3+ editor_help_load_xml_from_utf8_chars_and_len (optional:
// absent, the classes work without their docs).
func loadEditorHelp() {
	entries, _ := docClasses.ReadDir("doc_classes")
	for _, e := range entries {
		xml, err := docClasses.ReadFile("doc_classes/" + e.Name())
		if err != nil || len(xml) == 0 {
			continue
		}
		cx := C.CBytes(xml)
		C.gdx_editor_help((*C.char)(cx), C.gdx_int(len(xml)))
		C.free(cx)
	}
}
