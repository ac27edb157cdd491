from __future__ import annotations

from django import forms


class SetupForm(forms.Form):
    workspace_name = forms.CharField(label="Workspace name", max_length=200)
    admin_name = forms.CharField(label="Your name", max_length=200, required=False)
    email = forms.EmailField(label="Your email")
    password = forms.CharField(label="Password", widget=forms.PasswordInput, min_length=8)
