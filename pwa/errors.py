"""Errors become clear answers: a Vietnamese page for people, JSON for the API. Never a 500
for bad input: domain refusals map to 403/404/409/422 here."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from fieldkit.errors import Forbidden, Invalid, NotFound, SignInRefused, SyncConflict
from pwa.i18n import message_of, translate, translate_errors
from pwa.params import BadQuery

MESSAGES = {
    400: _l("Yêu cầu không hợp lệ."),
    401: _l("Đăng nhập lại để gửi"),
    403: _l("Bạn không có quyền xem mục này."),
    404: _l("Không tìm thấy trang này."),
    405: _l("Thao tác này không được hỗ trợ."),
    409: _l("Dữ liệu đã thay đổi."),
    410: _l("Liên kết không còn dùng được."),
    413: _l("Dữ liệu gửi lên quá lớn."),
    422: _l("Dữ liệu chưa hợp lệ."),
    429: _l("Có quá nhiều lần thử. Hãy đợi ít phút rồi thử lại."),
    500: _l("Có lỗi trên máy chủ. Dữ liệu bạn nhập chưa mất — hãy thử lại sau ít phút."),
}


def error_response(
    status: int, message: str | None = None, errors: dict | None = None, *, retry: str | None = None
):
    """The answer for an error: JSON under /api/, else the error page with `message`, and a
    button to `retry` (a URL) when there is a better next step than the home page."""
    message = str(message or MESSAGES.get(status, MESSAGES[400]))
    errors = translate_errors(errors)
    if request.path.startswith("/api/"):
        body = {"error": message}
        if errors:
            body["errors"] = errors
        response = jsonify(body)
        response.status_code = status
        # An answer about this request only: no cache (the service worker's included) keeps it.
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("error.html", status=status, message=message, retry=retry), status


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(error):
        return error_response(404, message_of(error))

    @app.errorhandler(Forbidden)
    def _forbidden(error):
        return error_response(403, message_of(error))

    @app.errorhandler(Invalid)
    def _invalid(error):
        return error_response(422, None, error.errors)

    @app.errorhandler(SyncConflict)
    def _conflict(error):
        return error_response(409, message_of(error))

    @app.errorhandler(SignInRefused)
    def _refused(error):
        return error_response(410, message_of(error))

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(
            400, _("Phiên làm việc đã cũ hoặc thiếu mã bảo vệ. Hãy tải lại trang rồi thử lại.")
        )

    @app.errorhandler(BadQuery)
    def _bad_query(error):
        # The same page without the query it could not be shown with.
        return error_response(400, translate(error.description), retry=request.path)

    @app.errorhandler(HTTPException)
    def _http(error):
        return error_response(error.code or 500)
