package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/reachgate/reachgate/pipeline/run"
)

func newExerciseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exercise",
		Short: "The course's exercises: start one on a new branch, check your work, get hints",
		Long: `The exercises of the course (docs/training) ship inside reachgate. Each has
a starting state, a goal written as connectivity expectations, and a hint
ladder drawn from explain. Work on a clone of the policy repository:
start writes the starting state on a new branch exercise-N and commits it;
check judges the work tree with the exercise's goals and the repository's
rules and expectations, says what still fails and why, and with --hint
shows one more hint.`,
		Example: `  reachgate exercise list
  reachgate exercise start 11
  reachgate exercise check 11 --hint`,
	}
	cmd.AddCommand(newExerciseListCmd(), newExerciseStartCmd(), newExerciseCheckCmd())
	return cmd
}

func newExerciseListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the exercises",
		Example: `  reachgate exercise list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run.ExerciseList(cmd.OutOrStdout())
		},
	}
}

func newExerciseStartCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "start N",
		Short:   "Write exercise N's starting state on a new branch exercise-N and print the task",
		Example: `  reachgate exercise start 11`,
		Args:    exerciseArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := run.ExerciseParams{Common: common(cmd)}
			p.Number, _ = strconv.Atoi(args[0])
			return run.ExerciseStart(cmd.Context(), p, cmd.OutOrStdout())
		},
	}
}

func newExerciseCheckCmd() *cobra.Command {
	p := run.ExerciseParams{}
	cmd := &cobra.Command{
		Use:   "check N",
		Short: "Judge the work tree against exercise N: what still fails and why; --hint for the next hint",
		Long: `check judges the work tree: the exercise's goals on their overlays, and
the repository's rules and connectivity expectations on every overlay, as
the gate would (rules and waivers from the work tree). Each --hint shows
one more rung of the hint ladder; the count is kept in the git directory.

Exit codes: 0 done, 1 something still fails, 2 input errors.`,
		Example: `  reachgate exercise check 11 --hint`,
		Args:    exerciseArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common = common(cmd)
			p.Number, _ = strconv.Atoi(args[0])
			return run.ExerciseCheck(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&p.Hint, "hint", false, "show the next hint")
	return cmd
}

// exerciseArgs takes one exercise number.
func exerciseArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return err
	}
	if n, err := strconv.Atoi(args[0]); err != nil || n < 1 {
		return fmt.Errorf("%q is not an exercise number (reachgate exercise list)", args[0])
	}
	return nil
}
