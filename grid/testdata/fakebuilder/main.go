// Command fakebuilder is the only binary of the image the grid's Docker
// tests run. Each argument is one command (words split on spaces), run in
// order; a failing command exits 2.
//
//	echo WORDS | echoerr WORDS   print to stdout | stderr
//	exit N                       exit with N
//	sleep DURATION               e.g. 60s
//	write PATH WORDS             write WORDS to PATH, creating its folder
//	copy SRC DST                 copy a file, creating DST's folder
//	cat PATH                     print "PATH: contents"; missing is fine
//	symlink TARGET PATH | link OLD NEW
//	net HOST:PORT                dial TCP: exit 0 if it connects, 3 if not
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	for _, arg := range os.Args[1:] {
		if err := run(strings.Fields(arg)); err != nil {
			fmt.Fprintf(os.Stderr, "fakebuilder: %s: %v\n", arg, err)
			os.Exit(2)
		}
	}
}

func run(w []string) error {
	if len(w) < 2 {
		return fmt.Errorf("need a command and arguments")
	}
	rest := strings.Join(w[2:], " ")
	switch w[0] {
	case "echo":
		_, err := fmt.Println(strings.Join(w[1:], " "))
		return err
	case "echoerr":
		_, err := fmt.Fprintln(os.Stderr, strings.Join(w[1:], " "))
		return err
	case "exit":
		n, err := strconv.Atoi(w[1])
		if err == nil {
			os.Exit(n)
		}
		return err
	case "sleep":
		d, err := time.ParseDuration(w[1])
		time.Sleep(d)
		return err
	case "write":
		return write(w[1], []byte(rest))
	case "copy":
		b, err := os.ReadFile(w[1])
		if err != nil {
			return err
		}
		return write(rest, b)
	case "cat":
		b, _ := os.ReadFile(w[1])
		fmt.Printf("%s: %s\n", w[1], b)
		return nil
	case "symlink":
		return os.Symlink(w[1], rest)
	case "link":
		return os.Link(w[1], rest)
	case "net":
		return dial(w[1])
	}
	return fmt.Errorf("unknown command")
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		fmt.Println("unreachable:", err)
		os.Exit(3)
	}
	fmt.Println("connected")
	return c.Close()
}
