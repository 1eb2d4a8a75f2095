"""The profile page (every logged-in user): the e-mail address alerts go to, the rules
they receive (their role's defaults unless they chose otherwise), a test e-mail, and a
link to change their password."""

from django.contrib import messages
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.views import View

from alerts.channels.base import SendFailed
from alerts.forms import EmailForm, PasswordForm, SubscriptionsForm
from alerts.selectors.profile import profile_subscriptions
from alerts.services.profile import change_email, choose_subscriptions, send_test_email
from alerts.services.subscriptions import reset_to_defaults


class ProfileView(View):
    template_name = "alerts/profile.html"
    http_method_names = ["get", "head", "post"]

    def get(self, request):
        return self.page(request)

    def post(self, request):
        actions = {
            "email": self.save_email,
            "subscriptions": self.save_subscriptions,
            "reset": self.reset,
            "test": self.send_test,
        }
        action = actions.get(request.POST.get("action", ""))
        if action is None:
            messages.error(request, "That is not something this page can do.")
            return self.page(request, status=400)
        return action(request)

    def save_email(self, request):
        form = EmailForm(request.POST)
        if form.is_valid():
            try:
                changed = change_email(
                    user=request.user, email=form.cleaned_data["email"], actor=request.user
                )
            except ValidationError as error:
                form.add_error("email", error)
            else:
                if changed:
                    messages.success(request, f"Alerts now go to {request.user.email}.")
                return self.done()
        return self.page(request, email_form=form, status=400)

    def save_subscriptions(self, request):
        form = SubscriptionsForm(request.POST, rows=profile_subscriptions(request.user))
        form.is_valid()  # checkboxes: any answer is valid
        changed = choose_subscriptions(user=request.user, chosen=form.chosen(), actor=request.user)
        if changed:
            messages.success(request, "Your subscriptions are saved.")
        else:
            messages.info(request, "Nothing changed in your subscriptions.")
        return self.done()

    def reset(self, request):
        reset_to_defaults(user=request.user, actor=request.user)
        messages.success(request, "You receive your role's defaults again.")
        return self.done()

    def send_test(self, request):
        try:
            address = send_test_email(user=request.user, actor=request.user)
        except (ValidationError, SendFailed) as error:
            text = error.messages[0] if isinstance(error, ValidationError) else str(error)
            messages.error(request, f"The test e-mail was not sent. {text}")
            return self.page(request, status=400)
        messages.success(request, f"A test e-mail is on its way to {address}.")
        return self.done()

    def done(self):
        return HttpResponseRedirect(reverse("alerts:profile"))

    def page(self, request, *, email_form=None, status=200):
        user = request.user
        context = {
            "email_form": email_form or EmailForm(initial={"email": user.email}),
            "subscriptions_form": SubscriptionsForm(rows=profile_subscriptions(user)),
        }
        return TemplateResponse(request, self.template_name, context, status=status)


class PasswordView(PasswordChangeView):
    http_method_names = ["get", "head", "post"]
    form_class = PasswordForm
    template_name = "alerts/password.html"
    success_url = reverse_lazy("alerts:profile")

    def form_valid(self, form):
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


urlpatterns = [
    path("profile/", ProfileView.as_view(), name="profile"),
    path("profile/password/", PasswordView.as_view(), name="password"),
]
