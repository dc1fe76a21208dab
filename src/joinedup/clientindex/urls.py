from django.urls import path

from . import views

app_name = "clientindex"

urlpatterns = [
    path("staff/client-index/", views.console, name="console"),
    path("staff/client-index/review/", views.review_queue, name="review"),
    path("staff/client-index/review/<int:pair_id>/", views.review_pair, name="pair"),
    path("staff/client-index/review/<int:pair_id>/decide/", views.decide_pair, name="decide"),
    path("staff/client-index/people/<str:key>/", views.person, name="person"),
    path("staff/client-index/people/<str:key>/merge/", views.merge, name="merge"),
    path("staff/client-index/people/<str:key>/split/", views.split, name="split"),
    path("staff/client-index/decisions/<int:decision_id>/undo/", views.undo, name="undo"),
    path("staff/client-index/model/", views.model, name="model"),
    path("staff/client-index/corrections/", views.correction_queue, name="corrections"),
    path(
        "staff/client-index/corrections/<int:request_id>/",
        views.correction,
        name="correction",
    ),
    path(
        "staff/client-index/corrections/<int:request_id>/answer/",
        views.answer_correction,
        name="answer-correction",
    ),
    path("my-data/linked-records/", views.my_records, name="my-records"),
]
