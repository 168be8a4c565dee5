package qw

import "fmt"

// Node is a step of a workflow: built with Sig, Si, Chain, Group and Chord.
type Node interface{ isNode() }

// SigNode is one step: task Task with Args. An Immutable step takes no parent result (Celery's si).
type SigNode struct {
	Task      string
	Args      []any
	Immutable bool
}

// ChainNode runs its steps in sequence; each result is the first argument of the next.
type ChainNode struct{ Steps []Node }

// GroupNode runs its members in parallel; its result is the list of theirs, in order.
type GroupNode struct{ Members []Node }

// ChordNode is a group whose list of results is the first argument of Body.
type ChordNode struct {
	Header []Node
	Body   Node
}

func (SigNode) isNode()   {}
func (ChainNode) isNode() {}
func (GroupNode) isNode() {}
func (ChordNode) isNode() {}

// Sig is a step: Sig("add", 2, 3).
func Sig(task string, args ...any) SigNode { return SigNode{Task: task, Args: args} }

// Si is an immutable step: it takes no result from the step before it.
func Si(task string, args ...any) SigNode { return SigNode{Task: task, Args: args, Immutable: true} }

// Chain runs steps in sequence.
func Chain(steps ...Node) ChainNode { return ChainNode{Steps: steps} }

// Group runs members in parallel.
func Group(members ...Node) GroupNode { return GroupNode{Members: members} }

// Chord runs the header's members, then body with the list of their results.
func Chord(header GroupNode, body Node) ChordNode {
	return ChordNode{Header: header.Members, Body: body}
}

// The wire form of nodes: struct fields keep the order qw writes.
type (
	sigJSON struct {
		Task      string `json:"task"`
		Args      []any  `json:"args"`
		Immutable bool   `json:"immutable,omitempty"`
	}
	chainJSON struct {
		Chain []any `json:"chain"`
	}
	groupJSON struct {
		Group []any `json:"group"`
	}
	chordBody struct {
		Header []any `json:"header"`
		Body   any   `json:"body"`
	}
	chordJSON struct {
		Chord chordBody `json:"chord"`
	}
)

// normalize brings a flow to qw's canonical form: nested chains flattened, a
// group followed by a step in a chain turned into a chord.
func normalize(n Node, path string) (any, error) {
	where := "the flow"
	if path != "" {
		where = fmt.Sprintf("step '%s'", path)
	}
	failFlow := func(must string) error {
		return fail(ErrInvalidFlow, fmt.Sprintf("Cannot start flow as %s must be %s: current value is %s", where, must, show(fmt.Sprintf("%+v", n))))
	}
	switch n := n.(type) {
	case SigNode:
		if checkTask(ErrInvalidFlow, "start flow", n.Task) != nil {
			return nil, failFlow("a task name without whitespace, '.', '*', '>' or a leading '_'")
		}
		args := n.Args
		if args == nil {
			args = []any{}
		}
		return sigJSON{n.Task, args, n.Immutable}, nil
	case ChainNode:
		var flat []any
		for i, s := range n.Steps {
			c, err := normalize(s, fmt.Sprintf("%s.%d", path, i))
			if err != nil {
				return nil, err
			}
			if inner, ok := c.(chainJSON); ok {
				flat = append(flat, inner.Chain...)
			} else {
				flat = append(flat, c)
			}
		}
		steps := []any{}
		for i := 0; i < len(flat); i++ {
			if g, ok := flat[i].(groupJSON); ok && i+1 < len(flat) {
				steps = append(steps, chordJSON{chordBody{g.Group, flat[i+1]}})
				i++
			} else {
				steps = append(steps, flat[i])
			}
		}
		return chainJSON{steps}, nil
	case GroupNode:
		members, err := normalizeAll(n.Members, path)
		return groupJSON{members}, err
	case ChordNode:
		header, err := normalizeAll(n.Header, path)
		if err != nil {
			return nil, err
		}
		if n.Body == nil {
			return nil, failFlow("a chord with a body")
		}
		body, err := normalize(n.Body, path+".body")
		return chordJSON{chordBody{header, body}}, err
	}
	return nil, failFlow("a Sig, Chain, Group or Chord")
}

func normalizeAll(ns []Node, path string) ([]any, error) {
	out := make([]any, 0, len(ns))
	for i, m := range ns {
		c, err := normalize(m, fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
