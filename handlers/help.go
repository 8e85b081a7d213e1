package handlers

import (
	"context"

	"safetybot"
	"safetybot/messages"
)

type help struct{}

func (help) help(_ context.Context, req *Request) (messages.Reply, error) {
	return messages.Reply{messages.Text(messages.HelpText(roleOf(req)))}, nil
}

func (help) welcome(_ context.Context, req *Request) (messages.Reply, error) {
	return messages.Reply{messages.Text(messages.WelcomeText(roleOf(req)))}, nil
}

func (help) unknown(_ context.Context, req *Request) (messages.Reply, error) {
	if req.Person == nil {
		return messages.Reply{messages.Text(messages.NotRegistered)}, nil
	}
	return messages.Reply{messages.Text(messages.UnknownInput(req.Text, roleOf(req)))}, nil
}

func roleOf(req *Request) safetybot.Role {
	if req.Person == nil {
		return ""
	}
	return req.Person.Role
}
