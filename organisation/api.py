"""API of the organisation: the units, and the token scripts log in with."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from .selectors import unit_list
from .serializers import TokenSerializer, UnitSerializer


class TokenObtainApi(ObtainAuthToken):
    # Credentials are the authentication here: a browser's session (and its CSRF check)
    # must not get in the way of a script exchanging them for a token.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    # Slows down password guessing; the rate is the "token" scope in settings.
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"
    # The project's parsers (DRF's view names its own): bounded JSON, forms as before.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(
        tags=["auth"],
        summary="Exchange a username and password for an API token",
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Missing fields or wrong credentials."),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


@extend_schema(tags=["units"], summary="List the units of the organisation")
class UnitListApi(ListAPIView):
    serializer_class = UnitSerializer
    filter_backends = ()

    def get_queryset(self):
        return unit_list()
