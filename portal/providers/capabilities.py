import enum


class Capability(enum.StrEnum):
    LIST_NUMBERS = "list_numbers"
    GET_NUMBER = "get_number"
    SEARCH_NUMBERS = "search_numbers"
    PURCHASE = "purchase"
    UPDATE_LABEL = "update_label"
    RELEASE = "release"
    BALANCE = "balance"
    TRANSACTIONS = "transactions"
    SERVICE_PLANS = "service_plans"
    CALL_RECORDS = "call_records"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()
