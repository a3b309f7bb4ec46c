"""What the API edges of instrument files share: the upload (a multipart file, or the CSV text
in JSON) and the download of a kept raw file with its SHA-256."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from radiopharmacy.core.instrument_csv import MAX_FILE_BYTES

ERR_400_FILE = OpenApiResponse(
    description="A malformed file: `detail` names the line and the column; `line`, `column`."
)


class InstrumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The CSV export (multipart).")
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="Or the CSV text itself (JSON)."
    )
    filename = serializers.CharField(required=False, max_length=200, default="")

    def validate(self, attrs):
        upload = attrs.get("file")
        if upload is None and not attrs.get("content"):
            raise serializers.ValidationError({"file": ["Upload the CSV file."]})
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise serializers.ValidationError(
                    {"file": [f"The file is larger than {MAX_FILE_BYTES // 1000} kB."]}
                )
            attrs["raw"] = upload.read()
            attrs["filename"] = attrs.get("filename") or upload.name
        else:
            # A lone surrogate from JSON stays as bytes that are not UTF-8: a 400 on line 1.
            attrs["raw"] = attrs["content"].encode("utf-8", errors="surrogatepass")
        return attrs


def raw_file_response(content: bytes, filename: str, digest: str) -> HttpResponse:
    """The raw file as uploaded, as an attachment; its SHA-256 in `X-Content-SHA256`."""
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    safe = "".join(c for c in filename if c.isalnum() or c in "._-") or "instrument.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-SHA256"] = digest
    return response
