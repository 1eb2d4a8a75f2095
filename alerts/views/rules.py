"""The rules page (admins): every rule with its condition in words, reminder period and how
many receive it; a rule's page to change it and who receives it; adding a rule of a kind."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.views import View
from django.views.generic import TemplateView

from alerts.forms import KindForm, RuleForm
from alerts.kinds import KINDS
from alerts.models import Rule
from alerts.selectors.rules import (
    parameters_in_words,
    receivers,
    reminder_in_words,
    rules_for_page,
)
from alerts.services.rules import save_rule

PERMISSION = "alerts.change_rule"
FORM = "alerts/rule_form.html"


class RuleListView(PermissionRequiredMixin, TemplateView):
    permission_required = PERMISSION
    raise_exception = True
    template_name = "alerts/rules.html"

    def get_context_data(self, **kwargs):
        rules = list(rules_for_page())
        for rule, receiving in zip(rules, receivers(rules), strict=True):
            rule.condition = parameters_in_words(rule)
            rule.reminder = reminder_in_words(rule.remind_every)
            rule.receiver_count = sum(receiver.by_email for receiver in receiving)
        return super().get_context_data(rules=rules, kind_form=KindForm(), **kwargs)


class RuleFormMixin(PermissionRequiredMixin):
    permission_required = PERMISSION
    raise_exception = True

    def form(self, rule, data=None):
        return RuleForm(data, instance=rule, receivers=self.receivers_of(rule))

    def receivers_of(self, rule):
        return receivers([rule])[0]

    def render_form(self, rule, form, *, status=200):
        context = {"rule": rule, "form": form, "info": KINDS[rule.kind]}
        return TemplateResponse(self.request, FORM, context, status=status)

    def save(self, rule, form, note):
        try:
            save_rule(
                rule=rule,
                values=form.values,
                receivers_chosen=form.chosen_receivers,
                actor=self.request.user,
            )
        except IntegrityError:
            # Another admin took the name between the form's check and the save.
            form.add_error("name", RuleForm.Meta.error_messages["name"]["unique"])
            return self.render_form(rule, form, status=400)
        messages.success(self.request, note)
        return redirect("alerts:rules")


class RuleEditView(RuleFormMixin, View):
    def get_rule(self):
        return get_object_or_404(Rule, pk=self.kwargs["pk"])

    def get(self, request, pk):
        rule = self.get_rule()
        return self.render_form(rule, self.form(rule))

    def post(self, request, pk):
        rule = self.get_rule()
        # The form writes what it cleans onto its instance: a copy, so `rule` stays as
        # stored until the service changes it.
        form = RuleForm(request.POST, instance=self.get_rule(), receivers=self.receivers_of(rule))
        if not form.is_valid():
            return self.render_form(rule, form, status=400)
        return self.save(rule, form, f"“{form.values['name']}” saved.")


class RuleAddView(RuleFormMixin, View):
    """?kind=… names the kind of the rule (asked first when it is missing)."""

    def new_rule(self):
        kind_form = KindForm(self.request.GET)
        if not kind_form.is_valid():
            return None, kind_form
        # Reminding daily, as the default rules do, until the admin chooses otherwise.
        rule = Rule(kind=kind_form.cleaned_data["kind"], remind_every=timedelta(days=1))
        return rule, kind_form

    def choose_kind(self, kind_form):
        bad = "kind" in self.request.GET
        context = {"kind_form": kind_form if bad else KindForm()}
        return TemplateResponse(self.request, FORM, context, status=400 if bad else 200)

    def get(self, request):
        rule, kind_form = self.new_rule()
        if rule is None:
            return self.choose_kind(kind_form)
        return self.render_form(rule, self.form(rule))

    def post(self, request):
        rule, kind_form = self.new_rule()
        if rule is None:
            response = self.choose_kind(kind_form)
            response.status_code = 400
            return response
        form = self.form(Rule(kind=rule.kind, remind_every=rule.remind_every), request.POST)
        if not form.is_valid():
            return self.render_form(rule, form, status=400)
        return self.save(rule, form, f"“{form.values['name']}” added.")


urlpatterns = [
    path("rules/", RuleListView.as_view(), name="rules"),
    path("rules/add/", RuleAddView.as_view(), name="rule_add"),
    path("rules/<int:pk>/", RuleEditView.as_view(), name="rule_edit"),
]
