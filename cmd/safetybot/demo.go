package main

import (
	"context"
	"errors"

	"safetybot/app"
)

// runDemo is filled in by the letters feature.
func runDemo(ctx context.Context, e *env, a *app.App) error {
	return errors.New("demo data is not available yet")
}
