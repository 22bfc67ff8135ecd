"""Catalog API: create and list products and locations."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from apps.catalog import selectors, services
from apps.catalog.models import Location, LocationKind, Product
from apps.core.api.schema import error_responses


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "price", "cost", "active"]
        read_only_fields = ["id"]


class LocationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=LocationKind.choices)

    class Meta:
        model = Location
        fields = ["id", "code", "name", "kind", "priority", "active"]
        read_only_fields = ["id"]


class ProductListCreateApi(generics.ListAPIView):
    serializer_class = ProductSerializer
    required_perms = {"GET": ["catalog.view_product"], "POST": ["catalog.add_product"]}

    def get_queryset(self):
        active = self.request.query_params.get("active")
        return selectors.product_list(
            sku=self.request.query_params.get("sku") or None,
            active=None if active is None else active.lower() in {"1", "true", "yes"},
        )

    @extend_schema(request=ProductSerializer, responses={201: ProductSerializer, **error_responses(400, 401, 403)})
    def post(self, request):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class LocationListCreateApi(generics.ListAPIView):
    serializer_class = LocationSerializer
    required_perms = {"GET": ["catalog.view_location"], "POST": ["catalog.add_location"]}

    def get_queryset(self):
        return selectors.location_list(kind=self.request.query_params.get("kind") or None)

    @extend_schema(request=LocationSerializer, responses={201: LocationSerializer, **error_responses(400, 401, 403)})
    def post(self, request):
        serializer = LocationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = services.location_create(**serializer.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)
