from portal.navigation import items_for


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": items_for(request)}
