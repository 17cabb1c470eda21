// Command pcklist prints the files a Godot 4 .pck holds (pack format 2,
// Godot 4.0–4.4, or 3, 4.5+; an unencrypted directory), one "res://path size"
// per line. The export test uses it to check what an export put in the pack.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	magic        = 0x43504447 // "GDPC"
	formatV2     = 2          // the directory right after the header
	formatV3     = 3          // the directory where the header's offset says
	dirEncrypted = 1 << 0
	maxPathLen   = 4096
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pcklist GAME.pck")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcklist:", err)
		os.Exit(1)
	}
	defer f.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	if err := list(f, out); err != nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "pcklist:", err)
		os.Exit(1)
	}
}

func list(f io.ReadSeeker, w io.Writer) error {
	var head struct {
		Magic, Version, Major, Minor, Patch, Flags uint32
		FileBase                                   uint64
	}
	if err := binary.Read(f, binary.LittleEndian, &head); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	switch {
	case head.Magic != magic:
		return errors.New("not a Godot pack (no GDPC magic at the start)")
	case head.Version != formatV2 && head.Version != formatV3:
		return fmt.Errorf("pack format %d (Godot %d.%d); this reads formats %d and %d", head.Version, head.Major, head.Minor, formatV2, formatV3)
	case head.Flags&dirEncrypted != 0:
		return errors.New("the directory is encrypted")
	}
	if head.Version == formatV3 {
		var dirOffset uint64 // from the pack's start, which is the file's
		if err := binary.Read(f, binary.LittleEndian, &dirOffset); err != nil {
			return fmt.Errorf("header: %w", err)
		}
		if _, err := f.Seek(int64(dirOffset), io.SeekStart); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
	} else if _, err := f.Seek(16*4, io.SeekCurrent); err != nil { // reserved
		return fmt.Errorf("header: %w", err)
	}
	r := bufio.NewReader(f)
	var count uint32
	if err := binary.Read(r, binary.LittleEndian, &count); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	for i := range count {
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if n > maxPathLen {
			return fmt.Errorf("entry %d: path of %d bytes", i, n)
		}
		path := make([]byte, n)
		var entry struct {
			Offset, Size uint64
			MD5          [16]byte
			Flags        uint32
		}
		if _, err := io.ReadFull(r, path); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if err := binary.Read(r, binary.LittleEndian, &entry); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		name := strings.TrimRight(string(path), "\x00")
		if !strings.Contains(name, "://") { // Godot 4.4 stores paths without res://
			name = "res://" + name
		}
		fmt.Fprintf(w, "%s %d\n", name, entry.Size)
	}
	return nil
}
