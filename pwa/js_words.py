"""The sentences the page scripts show (pwa/static/*.js, and the outbox's status words in
pwa/offline/outbox-rules.js), so that the scripts speak the page's language without a build
step or a second catalogue: each is marked here for pybabel, and base.html gives the page's
translations to the scripts as JSON in a <meta> element (`FieldkitT` in outbox-rules.js looks a
sentence up by its Vietnamese). A Vietnamese page carries no block. tests/test_i18n.py fails
when a script's `t("…")` is not listed here.
"""

from __future__ import annotations

from flask_babel import gettext

from fieldkit.i18n import N_
from pwa import i18n

WORDS = (
    N_(" · chờ mạng để tiếp tục"),
    N_("%(count)s hộ"),
    N_("%(n)s bản sửa"),
    N_("%(n)s chưa gửi"),
    N_("%(n)s dòng hỗ trợ · đang chờ trong hộp thư đi"),
    N_("%(n)s ghi nhận đồng ý"),
    N_("%(n)s hộ mới"),
    N_("%(n)s lượt thăm"),
    N_("%(n)s mục"),
    N_("%(n)s nhân khẩu"),
    N_("%(n)s thông tin hộ đã sửa"),
    N_("%(ready)s/%(count)s hộ"),
    N_("Bạn chưa cho phép thông báo. Chạm nút lần nữa và chọn “Cho phép”."),
    N_("Bạn không có quyền gửi mục này."),
    N_("bản sửa"),
    N_("Bỏ mục này"),
    N_("Bỏ mục này? Nội dung đã ghi sẽ mất."),
    N_("Chưa bật được thông báo trên điện thoại này. Hãy thử lại sau."),
    N_("Chưa có thiết bị nào của bạn nhận thông báo."),
    N_("Chưa gửi"),
    N_("Chưa kết nối được máy chủ — sẽ tự gửi khi kết nối lại."),
    N_("Chưa lưu được. Hãy sửa các ô được đánh dấu bên dưới."),
    N_("Chưa sao chép được. Hãy giữ ngón tay lên ô chữ để chọn và sao chép."),
    N_(
        "Chưa xác nhận được: bạn đã hủy, hết thời gian, hoặc điện thoại chưa xác minh bạn (vân tay, khuôn mặt hoặc mã khóa màn hình). Hãy thử lại."
    ),
    N_("Chờ gửi (%(n)s)"),
    N_("các trang"),
    N_(
        "Cần khoảng %(need)s để giữ %(what)s dùng khi không có mạng, máy chỉ còn %(free)s. Hãy xóa bớt ảnh, video hoặc ứng dụng không dùng rồi mở lại Fieldkit. Những gì chờ gửi vẫn được giữ nguyên."
    ),
    N_("Cần xử lý"),
    N_("Cần xử lý (%(n)s)"),
    N_("Cần đăng nhập lại"),
    N_("dưới 1 MB"),
    N_("Dữ liệu chưa hợp lệ — hãy sửa rồi gửi lại."),
    N_("ghi nhận đồng ý"),
    N_("gửi lúc %(time)s"),
    N_(
        "Hãy mở cài đặt của trình duyệt (biểu tượng bên trái địa chỉ trang), cho phép thông báo, rồi tải lại trang này."
    ),
    N_("hướng dẫn, hộp thư đi"),
    N_("hộ mới"),
    N_(
        "Không dùng được khóa truy cập trên điện thoại này. Hãy thử lại hoặc dùng cách khác bên dưới."
    ),
    N_("không kết nối được máy chủ"),
    N_("Không kết nối được máy chủ"),
    N_("Không kết nối được máy chủ — sẽ tự thử lại"),
    N_("Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại."),
    N_("Không lưu được trên máy: %(error)s"),
    N_("Không mở được chia sẻ. Hãy bấm Sao chép."),
    N_("Không mở được trang — %(why)s."),
    N_("Không nhập được: %(error)s"),
    N_("lượt thăm"),
    N_("Lần thử lúc %(time)s: %(error)s"),
    N_("Máy chủ chưa trả lời — sẽ tự gửi lại."),
    N_(
        "Máy chủ gặp lỗi mỗi lần nhận mục này, dù các mục khác vẫn gửi được. Mục vẫn được giữ trên máy: hãy báo cán bộ xã, hoặc mở ra sửa rồi gửi lại."
    ),
    N_("Máy chủ không nhận mục này."),
    N_("Máy chủ không trả lời"),
    N_("máy chủ không trả lời"),
    N_("Máy chủ không trả lời — sẽ tự thử lại"),
    N_("Máy chủ đang bận"),
    N_("máy chủ đang bận (%(code)s)"),
    N_("Máy chủ đang bận — sẽ tự gửi lại."),
    N_("Máy chủ đang bận — sẽ tự thử lại"),
    N_("Máy chủ đang lỗi"),
    N_("máy chủ đang lỗi (%(code)s)"),
    N_("Máy chủ đang lỗi — sẽ tự gửi lại."),
    N_("Máy chủ đang lỗi — sẽ tự thử lại"),
    N_("Máy chủ đã trả lời lại"),
    N_("Máy còn ít chỗ trống"),
    N_("máy đang ngoại tuyến"),
    N_("Máy đang ngoại tuyến"),
    N_("mục"),
    N_("Mục này đã được gửi trước đó với nội dung khác."),
    N_("Ngoại tuyến — sẽ gửi khi có mạng"),
    N_("nhân khẩu"),
    N_("Sẵn sàng ngoại tuyến: %(what)s · cập nhật %(time)s"),
    N_("sẽ thử lại lúc %(time)s"),
    N_("Sẽ tự gửi khi có mạng."),
    N_("Sửa"),
    N_("Thông báo đã bị chặn trên trình duyệt này"),
    N_("thông tin hộ đã sửa"),
    N_("Trang này không được phép dùng khóa truy cập (sai địa chỉ trang web)."),
    N_(
        "Trên iPhone, hãy thêm Fieldkit vào Màn hình chính rồi mở từ biểu tượng đó. Trên Android, hãy dùng Chrome."
    ),
    N_("Trình duyệt này không hỗ trợ thông báo"),
    N_("Trực tuyến"),
    N_("Tải lại trang"),
    N_("Tệp không phải bản sao hộp thư đi của Fieldkit."),
    N_("Vẫn ghi được: mọi thứ được giữ trên máy và tự gửi sau."),
    N_("Đang bật trên điện thoại này"),
    N_("Đang chuẩn bị ngoại tuyến: %(what)s"),
    N_("Đang gửi…"),
    N_("Đang kiểm tra điện thoại này…"),
    N_("Đang nhận thông báo trên %(n)s thiết bị của bạn."),
    N_("Đang tải tệp lên…"),
    N_("Đang tắt trên điện thoại này"),
    N_("Đang xem bản lưu trên máy"),
    N_("Đang xem bản lưu trên máy lúc %(time)s %(date)s"),
    N_("Điện thoại này đã có khóa truy cập cho tài khoản của bạn."),
    N_("Đã có mạng lại"),
    N_("Đã gửi %(what)s lúc %(time)s."),
    N_("đã gửi lúc %(time)s"),
    N_("Đã lưu %(what)s. Đã gửi lên xã."),
    N_("Đã lưu trên máy: %(what)s."),
    N_("Đã nhập %(n)s mục vào hộp thư đi."),
    N_("Đã sao chép"),
    N_("Đã tải lên. Máy chủ đang đọc tệp và so với danh sách hiện có…"),
    N_("Đóng"),
    N_("Đăng nhập lại để gửi — các mục vẫn giữ trên máy"),
    N_("Đăng nhập lại để gửi — mục vẫn được giữ trên máy."),
)


def translations() -> dict[str, str]:
    """Vietnamese sentence → the request's language; empty for Vietnamese (the default)."""
    if i18n.language() == i18n.DEFAULT:
        return {}
    # gettext without values: the scripts fill `%(name)s` themselves.
    return {word: gettext(word) for word in WORDS}
