package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// memSample is one reading of /proc/PID/smaps_rollup (kB).
type memSample struct {
	Rss, Anonymous, AnonHugePages, FilePmdMapped int64
}

// File is the file-backed part of Rss: the executable's text and data as
// mapped from the page cache (a Go program maps no other files).
func (s memSample) File() int64 { return s.Rss - s.Anonymous }

// parseSmapsRollup reads the fields bench reports; a process without an
// address space (exited, not yet reaped) gives the zero sample.
func parseSmapsRollup(data []byte) memSample {
	var s memSample
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			s.Rss = v
		case "Anonymous:":
			s.Anonymous = v
		case "AnonHugePages:":
			s.AnonHugePages = v
		case "FilePmdMapped:":
			s.FilePmdMapped = v
		}
	}
	return s
}

// sampleMemory reads /proc/PID/smaps_rollup and /proc/PID/status every
// interval until stop is closed or the process is gone, and sends the sample
// with the largest Rss, the last VmHWM read and the number of samples taken. The /proc/PID directory is opened once, so
// a later process reusing the PID is never read.
func sampleMemory(pid int, every time.Duration, stop <-chan struct{}) <-chan memPeak {
	out := make(chan memPeak, 1)
	go func() {
		var peak memPeak
		defer func() { out <- peak }()
		dir, err := syscall.Open(fmt.Sprintf("/proc/%d", pid), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer syscall.Close(dir)
		buf := make([]byte, 4096)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			fd, err := syscall.Openat(dir, "smaps_rollup", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return
			}
			n, err := syscall.Read(fd, buf)
			syscall.Close(fd)
			if err != nil {
				return
			}
			s := parseSmapsRollup(buf[:n])
			if fd, err := syscall.Openat(dir, "status", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
				n, err := syscall.Read(fd, buf)
				syscall.Close(fd)
				if err == nil {
					peak.hwm = max(peak.hwm, statusField(buf[:n], "VmHWM:"))
				}
			}
			peak.samples++
			if s.Rss > peak.at.Rss {
				peak.at = s
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

type memPeak struct {
	at      memSample // the sample with the largest Rss
	hwm     int64     // VmHWM (kB): the peak Rss of the process's own address space so far
	samples int
}

// statusField reads a kB field of /proc/PID/status.
func statusField(data []byte, name string) int64 {
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// gcStats is what GODEBUG=gctrace=1 tells about a Go program's heap: the
// largest heap at the start of a collection, the largest heap marked live,
// the largest goal, and the number of collections (MB, as the runtime
// prints them, rounded down).
type gcStats struct {
	HeapAtGC, Live, Goal, GCs int
}

var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB, (\d+) MB goal`)

func parseGCTrace(stderr []byte) gcStats {
	var g gcStats
	for _, line := range strings.Split(string(stderr), "\n") {
		m := gcLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		start, _ := strconv.Atoi(m[1])
		live, _ := strconv.Atoi(m[3])
		goal, _ := strconv.Atoi(m[4])
		g.GCs++
		g.HeapAtGC, g.Live, g.Goal = max(g.HeapAtGC, start), max(g.Live, live), max(g.Goal, goal)
	}
	return g
}

// pageCacheState describes how an executable sits in the page cache before
// it runs: how much of it is cached, and how much of that is in large folios
// (which the kernel may map as 2 MB PMDs, so that a process's file-backed Rss
// counts whole 2 MB blocks of the binary, touched or not). Large folios come
// from how the pages entered the cache: a file just written (by the linker,
// by cp) typically has them; one read back from disk has small ones.
type pageCacheState struct {
	Size          int64 // bytes
	Age           time.Duration
	Cached        int64 // bytes in the page cache
	InLargeFolios int64 // bytes of Cached in folios larger than a page (-1: unknown)
	InPMDFolios   int64 // bytes of Cached in folios of 2 MB or more (-1: unknown)
	Unknown       string
	Path          string
	Linking       string // "static", or "dynamic": an ELF interpreter (ld.so) maps and relocates it
}

func (p pageCacheState) String() string {
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	s := fmt.Sprintf("%s: %.1f MB, %s, written %s ago; %.1f MB (%.0f%%) in the page cache",
		p.Path, mb(p.Size), p.Linking, p.Age.Round(time.Second), mb(p.Cached), 100*float64(p.Cached)/float64(max(p.Size, 1)))
	if p.InLargeFolios < 0 {
		return s + "; folio sizes unknown (" + p.Unknown + ")"
	}
	return s + fmt.Sprintf(", of which %.1f MB in large folios and %.1f MB in 2 MB folios", mb(p.InLargeFolios), mb(p.InPMDFolios))
}

// touched keeps the reads that map cached pages from being optimised away.
var touched byte

// Bits of /proc/kpageflags (Documentation/admin-guide/mm/pagemap.rst).
const (
	kpfCompoundHead = 15
	kpfCompoundTail = 16
)

// inspectPageCache reports the page-cache state of a file without changing
// it: mincore says which pages are cached; only those are touched (through
// a private read-only mapping) so that /proc/self/pagemap gives their frames,
// whose folio sizes /proc/kpageflags gives. Frame numbers need
// CAP_SYS_ADMIN; without it the folio sizes are reported unknown.
func inspectPageCache(path string) (pageCacheState, error) {
	st := pageCacheState{Path: path, InLargeFolios: -1, InPMDFolios: -1}
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, err
	}
	st.Size, st.Age, st.Linking = fi.Size(), time.Since(fi.ModTime()), elfLinking(f)
	if st.Size == 0 {
		return st, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return st, err
	}
	defer unix.Munmap(data)
	// No readahead from touching the mapping: the state is read, not changed.
	if err := unix.Madvise(data, unix.MADV_RANDOM); err != nil {
		return st, err
	}
	vec, err := residentPages(data)
	if err != nil {
		return st, fmt.Errorf("mincore %s: %w", path, err)
	}
	page := os.Getpagesize()
	for i, v := range vec {
		if v&1 != 0 {
			st.Cached += int64(page)
			touched ^= data[i*page] // maps the cached page; reads nothing from disk
		}
	}
	large, pmd, unknown := folioSizes(data, vec)
	if unknown != "" {
		st.Unknown = unknown
		return st, nil
	}
	st.InLargeFolios, st.InPMDFolios = large, pmd
	return st, nil
}

// elfLinking is "static" or "dynamic" for an ELF file (one with an
// interpreter is dynamic).
func elfLinking(f *os.File) string {
	ef, err := elf.NewFile(f)
	if err != nil {
		return "linking unknown"
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamic"
		}
	}
	return "static"
}

// residentPages is mincore's vector for the mapping data: bit 0 of each
// byte set where that page is in the page cache.
func residentPages(data []byte) ([]byte, error) {
	page := os.Getpagesize()
	vec := make([]byte, (len(data)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return nil, errno
	}
	return vec, nil
}

// folioSizes are the bytes of the mapping's cached pages (vec) in large
// folios and in PMD-size ones, read from the page frames' kernel flags;
// unknown says why they could not be read.
func folioSizes(data, vec []byte) (large, pmd int64, unknown string) {
	page := os.Getpagesize()
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, 0, err.Error()
	}
	defer pagemap.Close()
	kflags, err := os.Open("/proc/kpageflags")
	if err != nil {
		return 0, 0, err.Error()
	}
	defer kflags.Close()
	entries := make([]byte, 8*len(vec))
	base := uint64(uintptr(unsafe.Pointer(&data[0])))
	if _, err := pagemap.ReadAt(entries, int64(base/uint64(page))*8); err != nil {
		return 0, 0, err.Error()
	}
	// Walk the cached pages in order: a compound head starts a folio, its
	// tails follow; a run of head+tails as long as 2 MB is a PMD-size folio.
	run := int64(0)
	flush := func() {
		if run > 1 {
			large += run * int64(page)
			if run*int64(page) >= 2<<20 {
				pmd += run * int64(page)
			}
		}
		run = 0
	}
	var fl [8]byte
	for i, v := range vec {
		if v&1 == 0 {
			flush()
			continue
		}
		e := binary.LittleEndian.Uint64(entries[8*i:])
		pfn := e & (1<<55 - 1)
		if e&(1<<63) == 0 || pfn == 0 {
			return 0, 0, "no page frame numbers (needs CAP_SYS_ADMIN)"
		}
		if _, err := kflags.ReadAt(fl[:], int64(pfn)*8); err != nil {
			return 0, 0, err.Error()
		}
		flags := binary.LittleEndian.Uint64(fl[:])
		switch {
		case flags&(1<<kpfCompoundHead) != 0:
			flush()
			run = 1
		case flags&(1<<kpfCompoundTail) != 0 && run > 0:
			run++
		default:
			flush()
		}
	}
	flush()
	return large, pmd, ""
}
