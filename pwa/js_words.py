"""The sentences the page scripts show (pwa/static/*.js, pwa/offline/outbox.js), so that the
scripts speak the page's language without a build step or a second catalogue: each is
marked here for pybabel, and base.html gives the page's translations to the scripts as JSON
in a <meta> element (`FieldkitT` in outbox.js looks a sentence up by its Vietnamese). A Vietnamese
page carries no block. tests/test_i18n.py fails when a script's `t("…")` is not listed here.
"""

from __future__ import annotations

from flask_babel import gettext

from fieldkit.i18n import N_
from pwa import i18n

WORDS = (
    N_(" · chờ mạng để tiếp tục"),
    N_("%(count)s hộ"),
    N_("%(ready)s/%(count)s hộ"),
    N_("Bạn chưa cho phép thông báo. Chạm nút lần nữa và chọn “Cho phép”."),
    N_("Chưa bật được thông báo trên điện thoại này. Hãy thử lại sau."),
    N_("Chưa có thiết bị nào của bạn nhận thông báo."),
    N_("Chưa sao chép được. Hãy giữ ngón tay lên ô chữ để chọn và sao chép."),
    N_(
        "Chưa xác nhận được: bạn đã hủy, hết thời gian, hoặc điện thoại chưa xác minh bạn (vân tay, khuôn mặt hoặc mã khóa màn hình). Hãy thử lại."
    ),
    N_(
        "Cần khoảng %(need)s để giữ %(what)s dùng khi không có mạng, máy chỉ còn %(free)s. Hãy xóa bớt ảnh, video hoặc ứng dụng không dùng rồi mở lại Fieldkit. Những gì chờ gửi vẫn được giữ nguyên."
    ),
    N_(
        "Hãy mở cài đặt của trình duyệt (biểu tượng bên trái địa chỉ trang), cho phép thông báo, rồi tải lại trang này."
    ),
    N_(
        "Không dùng được khóa truy cập trên điện thoại này. Hãy thử lại hoặc dùng cách khác bên dưới."
    ),
    N_("Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại."),
    N_("Không mở được chia sẻ. Hãy bấm Sao chép."),
    N_("Máy còn ít chỗ trống"),
    N_("Thông báo đã bị chặn trên trình duyệt này"),
    N_("Trang này không được phép dùng khóa truy cập (sai địa chỉ trang web)."),
    N_(
        "Trên iPhone, hãy thêm Fieldkit vào Màn hình chính rồi mở từ biểu tượng đó. Trên Android, hãy dùng Chrome."
    ),
    N_("Trình duyệt này không hỗ trợ thông báo"),
    N_("các trang"),
    N_("dưới 1 MB"),
    N_("Đang bật trên điện thoại này"),
    N_("Đang kiểm tra điện thoại này…"),
    N_("Đang nhận thông báo trên %(n)s thiết bị của bạn."),
    N_("Đang tải tệp lên…"),
    N_("Đang tắt trên điện thoại này"),
    N_("Điện thoại này đã có khóa truy cập cho tài khoản của bạn."),
    N_("Đã sao chép"),
    N_("Đã tải lên. Máy chủ đang đọc tệp và so với danh sách hiện có…"),
    N_("Đóng"),
)


def translations() -> dict[str, str]:
    """Vietnamese sentence → the request's language; empty for Vietnamese (the default)."""
    if i18n.language() == i18n.DEFAULT:
        return {}
    # gettext without values: the scripts fill `%(name)s` themselves.
    return {word: gettext(word) for word in WORDS}
