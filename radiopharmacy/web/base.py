"""The base of every write page: a form whose valid input goes to one service call."""

from django.http import HttpResponseRedirect
from django.views.generic import FormView

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from radiopharmacy.units import activity_unit
from radiopharmacy.web.forms.common import ActivityUnitMixin, apply_service_error


class ServiceFormView(RoleRequiredMixin, FormView):
    """A write form: GET and POST both need the write permission (auditors see no form)."""

    permission_action = CHANGE

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if issubclass(self.form_class, ActivityUnitMixin):
            kwargs["unit"] = activity_unit(self.request)
        return kwargs

    def form_valid(self, form):
        try:
            self.result = self.perform(form.cleaned_data)
        except ApplicationError as error:  # includes 409 refusals: shown on the form
            apply_service_error(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(self.get_success_url())

    def perform(self, data):  # pragma: no cover - each subclass defines it
        raise NotImplementedError
